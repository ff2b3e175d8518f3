import type { Context, SQSEvent, SQSRecord } from 'aws-lambda';

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
