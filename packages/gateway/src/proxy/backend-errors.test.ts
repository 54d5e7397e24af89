import { test } from 'node:test';
import assert from 'node:assert/strict';
import { errors } from '../apiserver/errors.ts';
import { DialError } from '../egress/direct.ts';
import { backendError, describeTLSError, MemberTLSError } from './backend-errors.ts';

test('TLS failures are worded as Go does, node reason kept', () => {
  const cases: [object, RegExp][] = [
    [
      { code: 'UNABLE_TO_VERIFY_LEAF_SIGNATURE', message: 'unable to verify the first certificate' },
      /^tls: failed to verify certificate: x509: certificate signed by unknown authority \(UNABLE_TO_VERIFY_LEAF_SIGNATURE: unable to verify the first certificate\)$/,
    ],
    [{ code: 'SELF_SIGNED_CERT_IN_CHAIN', message: 'x' }, /unknown authority/],
    [{ code: 'DEPTH_ZERO_SELF_SIGNED_CERT', message: 'x' }, /unknown authority/],
    [
      { code: 'CERT_HAS_EXPIRED', message: 'certificate has expired' },
      /x509: certificate has expired or is not yet valid/,
    ],
    [
      { code: 'ERR_TLS_CERT_ALTNAME_INVALID', reason: "Host: h. is not in the cert's altnames: DNS:x" },
      /^tls: failed to verify certificate: x509: certificate is not valid for member\.example \(ERR_TLS_CERT_ALTNAME_INVALID: Host: h\. is not/,
    ],
    [
      { code: 'ERR_SSL_WRONG_VERSION_NUMBER', message: 'wrong version number' },
      /^tls: ERR_SSL_WRONG_VERSION_NUMBER: wrong version number$/,
    ],
    [new Error('socket hang up'), /^tls: socket hang up$/],
  ];
  for (const [e, re] of cases) assert.match(describeTLSError(e, 'member.example'), re);
});

test('failure → status code and reason', () => {
  const cases: [unknown, number, string][] = [
    [new DialError('refused', 'dial tcp 1.2.3.4:443: connect: connection refused'), 503, 'ServiceUnavailable'],
    [new DialError('dns', 'dial tcp: lookup x: no such host'), 503, 'ServiceUnavailable'],
    [new DialError('unreachable', 'dial tcp: no route to host'), 503, 'ServiceUnavailable'],
    [new DialError('timeout', 'dial tcp 1.2.3.4:443: i/o timeout'), 504, 'Timeout'],
    [new DialError('policy', 'dial tcp: address denied'), 403, 'Forbidden'],
    [new DialError('proxy', 'proxyconnect tcp: 407'), 502, 'BadGateway'],
    [new MemberTLSError('tls: failed to verify certificate: x509: ...'), 502, 'BadGateway'],
    [new MemberTLSError('net/http: TLS handshake timeout', { timeout: true }), 504, 'Timeout'],
    [Object.assign(new Error('Headers Timeout Error'), { code: 'UND_ERR_HEADERS_TIMEOUT' }), 504, 'Timeout'],
    [new DOMException('x', 'TimeoutError'), 504, 'Timeout'],
    [Object.assign(new Error('other side closed'), { code: 'UND_ERR_SOCKET' }), 502, 'BadGateway'],
    [Object.assign(new Error('invalid header'), { code: 'UND_ERR_INVALID_ARG' }), 400, 'BadRequest'],
    [new Error('something odd'), 502, 'BadGateway'],
    [errors.noSuchCluster('c'), 404, 'NotFound'],
  ];
  for (const [e, code, reason] of cases) {
    const g = backendError('c1', e);
    assert.equal(g.code, code, String(e));
    assert.equal(g.reason, reason, String(e));
    if (code >= 500 || code === 403) assert.match(g.message, /cluster "c1"/);
  }
  assert.equal(
    backendError('c1', new DialError('refused', 'dial tcp 127.0.0.1:1: connect: connection refused')).message,
    'error trying to reach cluster "c1": dial tcp 127.0.0.1:1: connect: connection refused',
  );
});
