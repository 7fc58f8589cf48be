import { SESClient, SESServiceException, SendRawEmailCommand } from '@aws-sdk/client-ses';
import { EffectNotPerformedError } from '@pipeline/db';
import { PipelineError } from '@pipeline/runtime';

export interface SesSettings {
  region: string;
  endpoint?: string;
  credentials?: { accessKeyId: string; secretAccessKey: string };
  requestTimeoutMs: number;
}

/** What a send's failure means for the effects ledger, and for the event. */
export type SendFailure =
  | { kind: 'not-sent'; retriable: boolean; code: string; message: string }
  | { kind: 'unknown'; code: string; message: string };

const NOT_CONNECTED = new Set(['ECONNREFUSED', 'ENOTFOUND', 'EAI_AGAIN', 'EHOSTUNREACH', 'ENETUNREACH']);
const THROTTLED = new Set(['Throttling', 'ThrottlingException', 'TooManyRequestsException']);

/**
 * Reads a failed send. SES has no idempotency key, so what matters is whether the request can
 * have been accepted:
 * - SES answered with an error: not sent. Throttling and 5xx may pass later (retriable); any
 *   other answer (MessageRejected, an unverified sender …) will not.
 * - The connection never opened (refused, no route, DNS, connect timeout): not sent, retriable.
 * - Anything after the request was written (a timeout, a reset): unknown, it may have been sent.
 */
export function classifySendError(error: unknown): SendFailure {
  if (error instanceof SESServiceException || (error as { $metadata?: { httpStatusCode?: number } })?.$metadata?.httpStatusCode) {
    const service = error as SESServiceException;
    const status = service.$metadata?.httpStatusCode ?? 0;
    const code = service.name || `HTTP ${status}`;
    const retriable = THROTTLED.has(code) || status === 429 || status >= 500 || service.$fault === 'server';
    return { kind: 'not-sent', retriable, code, message: service.message };
  }
  const failure = error as NodeJS.ErrnoException & { name?: string };
  const code = failure?.code ?? failure?.name ?? 'Error';
  if (NOT_CONNECTED.has(failure?.code ?? '') || /did not establish a connection/.test(failure?.message ?? '')) {
    return { kind: 'not-sent', retriable: true, code, message: failure.message };
  }
  return { kind: 'unknown', code, message: failure?.message ?? String(error) };
}

/**
 * SES with one attempt per send (`maxAttempts: 1`: the effects ledger, not the SDK, decides about
 * a second one) and a deadline per request (the SDK has none by default, and without
 * `throwOnRequestTimeout` it only warns).
 */
export class SesSender {
  private readonly client: SESClient;

  constructor(settings: SesSettings) {
    quietSdkNodeWarning();
    this.client = new SESClient({
      region: settings.region,
      maxAttempts: 1,
      ...(settings.endpoint ? { endpoint: settings.endpoint } : {}),
      ...(settings.credentials ? { credentials: settings.credentials } : {}),
      requestHandler: {
        connectionTimeout: Math.min(settings.requestTimeoutMs, 3_000),
        requestTimeout: settings.requestTimeoutMs,
        throwOnRequestTimeout: true,
      },
    });
  }

  /**
   * Sends a raw MIME message; resolves with SES's message id. A failure is thrown as an
   * EffectNotPerformedError (certainly not sent: the ledger releases its claim) or, when it may
   * have been sent, as a PipelineError that is not retriable and says what to check.
   */
  async send(raw: Buffer, what: { to: string; reference: string; effectKey: string; effect: string }): Promise<string> {
    try {
      // Destinations: SES sends to the one checked address, whatever the message's headers say.
      const answer = await this.client.send(new SendRawEmailCommand({ RawMessage: { Data: raw }, Destinations: [what.to] }));
      if (!answer.MessageId) throw new Error('SES answered without a MessageId');
      return answer.MessageId;
    } catch (error) {
      const failure = classifySendError(error);
      if (failure.kind === 'not-sent') {
        throw new EffectNotPerformedError(`SES did not send the email to ${what.to}: ${failure.code}: ${failure.message}`, {
          retriable: failure.retriable,
          cause: error,
        });
      }
      const entry = `${JSON.stringify(what.effectKey)} --effect ${what.effect}`;
      throw new PipelineError(
        `the email to ${what.to} may have been sent: SES did not answer (${failure.code}: ${failure.message}). ` +
          `Check whether it arrived (SES sending logs or the recipient; header X-Pipeline-Reference: ${what.reference}), then ` +
          `\`pipeline effects mark-recorded ${entry} --ref MESSAGE_ID\` if it did or \`pipeline effects release ${entry}\` if it did not, ` +
          'and redrive the dead letter',
        { code: 'EMAIL_OUTCOME_UNKNOWN', retriable: false, cause: error },
      );
    }
  }

  close(): void {
    this.client.destroy();
  }
}

/**
 * On Node < 22 the AWS SDK prints a multi-line NodeVersionSupportWarning to stderr, which breaks
 * the one-JSON-object-per-line log. The service logs it itself instead (`nodeVersionNotice`).
 */
function quietSdkNodeWarning(): void {
  // biome-ignore lint/style/noProcessEnv: the SDK reads only this variable to skip its stderr warning.
  process.env.AWS_SDK_JS_NODE_VERSION_SUPPORT_WARNING_DISABLED = 'true';
}

/** What the SDK would have printed, for the service's log: undefined on Node 22 and later. */
export function nodeVersionNotice(version = process.version): string | undefined {
  const major = Number(/^v(\d+)/.exec(version)?.[1]);
  return major < 22
    ? `Node ${version}: releases of the AWS SDK for JavaScript published after the first week of January 2027 need Node 22 or newer; upgrade Node to keep receiving SES client updates`
    : undefined;
}
