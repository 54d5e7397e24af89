// Public surface of the options pipeline: flags → complete → validate → Config.

export { createApiserverCommand, type ApiserverCommandIO, type ApiserverRun } from './command.ts';
export { type Cidr, parseCidr, toBlockList } from './cidr.ts';
export { formatGoDuration, parseGoDuration } from './duration.ts';
export { GATES, GATE_NAMES, type FeatureGates, type GateName } from './featuregates.ts';
export {
  DEFAULTS,
  FLAGS,
  apiserverHelp,
  normalizePflagArgs,
  parseApiserverFlags,
  type ParseResult,
  type RawOptions,
} from './flags.ts';
export {
  complete,
  levelForVerbosity,
  loadApiserverConfig,
  nodeCompleteEnv,
  validate,
  type CompleteEnv,
  type CompletedOptions,
  type Config,
  type GatewayConfig,
  type KubeconfigRef,
  type LoadResult,
  type LoadedFile,
  type LogFormat,
  type LogLevel,
  type ValidationResult,
} from './options.ts';
