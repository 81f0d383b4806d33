/**
 * Input sanitization and local request validation: the engine behind the client's `sanitize` layer.
 *
 * @packageDocumentation
 */
export { DEFAULT_INJECTION_PATTERNS, type InjectionPattern } from './injection-patterns';
export {
  DEFAULT_IMAGE_TOKENS,
  defaultTokenEstimator,
  enforceSuspiciousPolicy,
  sanitizeParams,
  type InputPart,
  type InputTokenEstimator,
  type SanitizeParamsOptions,
  type SanitizeResult,
  type SuspiciousFinding,
  type SuspiciousPolicy,
} from './sanitize-params';
export {
  validateCountTokensParams,
  validateMessageParams,
  type ValidatedCountTokensParams,
  type ValidatedMessageParams,
} from './validate-params';
