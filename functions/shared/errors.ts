/**
 * Typed errors of the LiveChat client and the archive run. Messages never carry
 * credentials: only a status, a URL path with its query, and a short reason.
 */
export class LivechatError extends Error {
  // Each class names itself: the minified Lambda bundles rename classes (errorClass in the logs and the runbook).
  override name = 'LivechatError';
}

/** 401/403: wrong or expired credentials, or a token without the needed scope. Never retried. */
export class LivechatAuthError extends LivechatError {
  override name = 'LivechatAuthError';
  constructor(
    readonly status: number,
    hint = 'check the LiveChat credentials',
  ) {
    super(`LiveChat authentication failed (${status}): ${hint}`);
  }
}

/** v3.6: the `page_id` cursor is no longer accepted (cursors expire); the slice must restart. */
export class LivechatCursorExpiredError extends LivechatError {
  override name = 'LivechatCursorExpiredError';
  constructor(readonly path: string) {
    super(`LiveChat rejected an expired page_id on ${path}`);
  }
}

/** 4xx other than 401/403/429: the request itself is wrong. Never retried. */
export class LivechatRequestError extends LivechatError {
  override name = 'LivechatRequestError';
  constructor(
    readonly status: number,
    readonly path: string,
    detail: string,
  ) {
    super(`LiveChat rejected ${path} (${status})${detail ? `: ${detail}` : ''}`);
  }
}

/**
 * `misdirected_request`: the account is served by another data centre (v3 error shape, also
 * expected from v2; no status is documented). The request must carry `X-Region: <region>`.
 */
export class LivechatMisdirectedError extends LivechatRequestError {
  override name = 'LivechatMisdirectedError';
  constructor(
    status: number,
    path: string,
    readonly region: string | undefined,
  ) {
    super(status, path, 'misdirected_request');
    const fix = region
      ? `this account is served by the "${region}" data centre: set the region to ${region} (CLI --region ${region}, cdk.json "region": "${region}")`
      : 'this account is served by another data centre: set the region (CLI --region dal|fra, cdk.json "region")';
    this.message = `LiveChat answered misdirected_request (${status}) on ${path}: ${fix}`;
  }
}

/** Retries exhausted on 429/5xx/network/timeout/unparsable bodies. */
export class LivechatUnavailableError extends LivechatError {
  override name = 'LivechatUnavailableError';
  constructor(
    readonly path: string,
    reason: string,
    options?: { cause?: unknown },
  ) {
    super(`LiveChat request ${path} failed after retries: ${reason}`, options);
  }
}

/**
 * Connection refused, no such host (DNS) or a TLS failure, after a few quick retries: waiting
 * longer would not help, so the run stops at once naming where it tried to connect.
 */
export class LivechatUnreachableError extends LivechatError {
  override name = 'LivechatUnreachableError';
  constructor(
    readonly hostPort: string,
    readonly reason: string,
    options?: { cause?: unknown },
  ) {
    super(`cannot reach LiveChat at ${hostPort}: ${reason}; check --api-url (or apiUrl) and the network`, options);
  }
}

/**
 * A request that changes something at LiveChat (register_webhook, unregister_webhook) was sent, but
 * its answer never came back whole (timed out, cut off, not JSON, not the documented shape, a 5xx):
 * LiveChat may have carried it out, so it is not sent again (a second one could act twice). The
 * message says how to check.
 */
export class LivechatWriteUnconfirmedError extends LivechatError {
  override name = 'LivechatWriteUnconfirmedError';
  constructor(
    readonly path: string,
    readonly reason: string,
    check: string,
    options?: { cause?: unknown },
  ) {
    super(`LiveChat may have carried out ${path} (${reason}); it was not sent again: ${check}`, options);
  }
}

/**
 * A 200 body that is JSON but not the documented shape: not transient, so never retried.
 * The message is one line naming the JSON path and what was expected there.
 */
export class LivechatResponseError extends LivechatError {
  override name = 'LivechatResponseError';
  constructor(
    readonly path: string,
    readonly problem: string,
  ) {
    super(`LiveChat response of ${path} is not the documented shape: ${problem}`);
  }
}

/** A page task or CLI argument that cannot be processed as given. */
export class InvalidInputError extends Error {
  constructor(message: string, options?: { cause?: unknown }) {
    super(message, options);
    this.name = 'InvalidInputError';
  }
}
