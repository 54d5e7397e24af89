{{/* Shared partials of the cluster-gateway chart. Keep to the template subset documented in docs/deploy.md. */}}

{{- define "cluster-gateway.selectorLabels" -}}
app.kubernetes.io/name: cluster-gateway
app.kubernetes.io/instance: {{ .Release.Name }}
{{- end }}

{{- define "cluster-gateway.labels" -}}
{{ include "cluster-gateway.selectorLabels" . }}
app.kubernetes.io/version: {{ .Chart.AppVersion | quote }}
app.kubernetes.io/part-of: cluster-gateway
{{- end }}

{{- define "cluster-gateway.tlsSecretName" -}}
{{- if .Values.tls.existingSecret }}{{ .Values.tls.existingSecret }}{{ else }}{{ .Release.Name }}-tls{{ end }}
{{- end }}

{{/* Fails rendering on contradictory or missing TLS settings; prints nothing otherwise. */}}
{{- define "cluster-gateway.validate" -}}
{{- if and .Values.tls.crt (not .Values.tls.key) }}{{ fail "tls.crt is set but tls.key is empty" }}{{ end }}
{{- if and .Values.tls.key (not .Values.tls.crt) }}{{ fail "tls.key is set but tls.crt is empty" }}{{ end }}
{{- if and .Values.tls.crt .Values.tls.existingSecret }}{{ fail "set either tls.crt/tls.key or tls.existingSecret, not both" }}{{ end }}
{{- if and (not .Values.tls.crt) (not .Values.tls.existingSecret) (not .Values.apiService.insecureSkipTLSVerify) }}
{{- fail "no serving certificate: generate one with `cluster-gateway certs --namespace <release namespace> --service <release name> --out-dir certs` and pass --set-file tls.crt=certs/tls.crt,tls.key=certs/tls.key,tls.caBundle=certs/ca.crt (or set tls.existingSecret, or apiService.insecureSkipTLSVerify=true)" }}
{{- end }}
{{- if and .Values.apiService.create (not .Values.apiService.insecureSkipTLSVerify) (not .Values.tls.caBundle) }}
{{- fail "apiService.create needs tls.caBundle (the CA of the serving certificate, certs/ca.crt) unless apiService.insecureSkipTLSVerify=true" }}
{{- end }}
{{- end }}
