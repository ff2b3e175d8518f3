import type { Context, SQSEvent, SQSRecord } from 'aws-lambda';
import { vi } from 'vitest';

export function sqsEvent(bodies: readonly string[]): SQSEvent {
  return {
    Records: bodies.map(
      (body, index): SQSRecord => ({
        messageId: `msg-${index}`,
        receiptHandle: `rh-${index}`,
        body,
        attributes: {
          ApproximateReceiveCount: '1',
          SentTimestamp: '1764000000000',
          SenderId: 'AIDA',
          ApproximateFirstReceiveTimestamp: '1764000000000',
        },
        messageAttributes: {},
        md5OfBody: '',
        eventSource: 'aws:sqs',
        eventSourceARN: 'arn:aws:sqs:eu-west-1:123456789012:pages',
        awsRegion: 'eu-west-1',
      }),
    ),
  };
}

export function lambdaContext(requestId = 'req-1'): Context {
  return {
    callbackWaitsForEmptyEventLoop: false,
    functionName: 'fn',
    functionVersion: '$LATEST',
    invokedFunctionArn: 'arn:aws:lambda:eu-west-1:123456789012:function:fn',
    memoryLimitInMB: '512',
    awsRequestId: requestId,
    logGroupName: '/aws/lambda/fn',
    logStreamName: 'stream',
    getRemainingTimeInMillis: () => 60_000,
    done: () => {},
    fail: () => {},
    succeed: () => {},
  };
}

/** The environment the CDK stack gives the worker (and planner), pointed at a local API. */
export function stubFunctionEnv(apiUrl: string, overrides: Record<string, string> = {}): void {
  const env: Record<string, string> = {
    BUCKET_NAME: 'lake-bucket',
    QUEUE_URL: 'https://sqs.eu-west-1.amazonaws.com/123456789012/pages',
    SECRET_ID: 'arn:aws:secretsmanager:eu-west-1:123456789012:secret:livechat',
    API_URL: apiUrl,
    POWERTOOLS_LOG_LEVEL: 'SILENT',
    POWERTOOLS_METRICS_DISABLED: 'true',
    AWS_REGION: 'eu-west-1',
    // Attachments are on in the stack by default; these handler tests are about chats (the
    // simulator's file URLs would only be refused_host rows). Tests of attachments turn them on.
    ATTACHMENTS: 'off',
    ...overrides,
  };
  for (const [name, value] of Object.entries(env)) vi.stubEnv(name, value);
}

/**
 * Runs `run` with stdout and stderr captured (where Powertools writes its JSON log lines): its
 * result, those JSON lines parsed, and everything written.
 */
export async function captureJsonLogs<T>(
  run: () => Promise<T>,
): Promise<{ result: T; lines: Array<Record<string, unknown>>; text: string }> {
  const written: string[] = [];
  const capture = (chunk: unknown) => {
    written.push(String(chunk));
    return true;
  };
  const out = vi.spyOn(process.stdout, 'write').mockImplementation(capture);
  const err = vi.spyOn(process.stderr, 'write').mockImplementation(capture);
  let result: T;
  try {
    result = await run();
  } finally {
    out.mockRestore();
    err.mockRestore();
  }
  const text = written.join('');
  const lines = text
    .split('\n')
    .filter((line) => line.startsWith('{'))
    .map((line) => JSON.parse(line) as Record<string, unknown>);
  return { result, lines, text };
}
