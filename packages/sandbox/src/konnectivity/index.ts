// Public surface of the sandbox Konnectivity proxy-server (tests and `cluster-gateway sandbox --konnectivity`).
export {
  NO_BACKEND,
  destinationHost,
  startKonnectivityServer,
  tcpAgent,
  type AgentDial,
  type KonnectivityServer,
  type KonnectivityServerOptions,
  type KonnectivityServerStats,
} from './server.ts';
