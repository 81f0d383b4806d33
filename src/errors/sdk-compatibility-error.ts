import { ResilientClaudeError } from './resilient-claude-error';

/**
 * The installed `@anthropic-ai/sdk` lacks a seam this library plugs into (a method it overrides or
 * calls). Thrown by `new ResilientClaude()`: without the seam the resilience layers would be bypassed
 * silently, so the client refuses to exist instead. Install a version in the supported range.
 */
export class SdkCompatibilityError extends ResilientClaudeError {
  /** The installed SDK version. */
  readonly sdkVersion: string;
  /** The seam that is missing or changed, e.g. `'BaseAnthropic.prototype.fetchWithTimeout'`. */
  readonly seam: string;

  constructor(sdkVersion: string, seam: string, supportedRange: string) {
    super(
      'SDK_INCOMPATIBLE',
      `@anthropic-ai/sdk ${sdkVersion} is not compatible with resilient-claude: ${seam} is missing or changed. ` +
        `Install @anthropic-ai/sdk ${supportedRange}.`,
    );
    this.sdkVersion = sdkVersion;
    this.seam = seam;
  }
}
