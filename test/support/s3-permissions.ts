/**
 * The IAM permissions S3 requests need, to check a policy against the requests a piece of code
 * really makes (recorded by aws-sdk-client-mock), rather than against a list kept by hand.
 */

export interface Statement {
  Effect: 'Allow' | 'Deny';
  Action: string | string[];
  Resource: string | string[];
  Condition?: {
    StringLike?: Record<string, string | string[]>;
    StringEquals?: Record<string, string | string[]>;
  };
}

export interface Need {
  action: string;
  resource: string;
  prefix?: string;
  request: string;
}

export const list = <T>(value: T | T[]) => (Array.isArray(value) ? value : [value]);

const glob = (pattern: string) =>
  new RegExp(
    `^${pattern
      .replace(/[.+^${}()|[\]\\]/g, '\\$&')
      .replaceAll('*', '.*')
      .replaceAll('?', '.')}$`,
  );

/** The IAM actions one S3 request needs (S3 API reference, "Permissions" of each operation). */
export function needsOf(bucketArn: string, name: string, input: Record<string, unknown>): Need[] {
  const object = `${bucketArn}/${String(input['Key'])}`;
  const request = `${name} ${String(input['Key'] ?? input['Prefix'] ?? '')}`;
  switch (name) {
    case 'ListObjectsV2Command':
      return [{ action: 's3:ListBucket', resource: bucketArn, prefix: String(input['Prefix'] ?? ''), request }];
    case 'ListObjectVersionsCommand':
      return [{ action: 's3:ListBucketVersions', resource: bucketArn, prefix: String(input['Prefix'] ?? ''), request }];
    case 'GetObjectCommand':
      return [{ action: input['VersionId'] ? 's3:GetObjectVersion' : 's3:GetObject', resource: object, request }];
    case 'HeadObjectCommand':
      return [{ action: 's3:GetObject', resource: object, request }];
    case 'PutObjectCommand':
      return [{ action: 's3:PutObject', resource: object, request }];
    case 'DeleteObjectCommand':
      if (input['VersionId']) return [{ action: 's3:DeleteObjectVersion', resource: object, request }];
      // A conditional delete on an ETag needs s3:GetObject as well (user guide, conditional deletes).
      return [
        { action: 's3:DeleteObject', resource: object, request },
        ...(input['IfMatch'] && input['IfMatch'] !== '*'
          ? [{ action: 's3:GetObject', resource: object, request }]
          : []),
      ];
    case 'DeleteObjectsCommand':
      return ((input['Delete'] as { Objects?: Array<{ Key: string; VersionId?: string }> }).Objects ?? []).map(
        (entry) => ({
          action: entry.VersionId ? 's3:DeleteObjectVersion' : 's3:DeleteObject',
          resource: `${bucketArn}/${entry.Key}`,
          request: `${name} ${entry.Key}`,
        }),
      );
    default:
      throw new Error(`${name} was sent, and this helper does not know its permissions`);
  }
}

/** The S3 permissions of every request an aws-sdk-client-mock recorded. */
export function needsOfCalls(bucketArn: string, calls: ReadonlyArray<{ args: readonly unknown[] }>): Need[] {
  return calls.flatMap((call) => {
    const command = call.args[0] as { constructor: { name: string }; input: Record<string, unknown> };
    return needsOf(bucketArn, command.constructor.name, command.input);
  });
}

export function allows(statement: Statement, need: Need): boolean {
  if (statement.Effect !== 'Allow') return false;
  if (!list(statement.Action).some((action) => glob(action).test(need.action))) return false;
  if (!list(statement.Resource).some((resource) => glob(resource).test(need.resource))) return false;
  const like = statement.Condition?.StringLike?.['s3:prefix'];
  const equals = statement.Condition?.StringEquals?.['s3:prefix'];
  if (like === undefined && equals === undefined) return true;
  if (need.prefix === undefined) return false;
  if (like !== undefined && !list(like).some((pattern) => glob(pattern).test(need.prefix!))) return false;
  if (equals !== undefined && !list(equals).includes(need.prefix)) return false;
  return true;
}

/** Each (action, resource, listed prefix) a policy grants that no request needed. */
export function unusedGrants(policy: readonly Statement[], needs: readonly Need[]): string[] {
  const unused: string[] = [];
  for (const statement of policy) {
    for (const action of list(statement.Action)) {
      for (const resource of list(statement.Resource)) {
        const patterns = list(statement.Condition?.StringLike?.['s3:prefix'] ?? ['*']);
        for (const pattern of patterns) {
          const one: Statement = {
            ...statement,
            Action: action,
            Resource: resource,
            ...(statement.Condition?.StringLike ? { Condition: { StringLike: { 's3:prefix': pattern } } } : {}),
          };
          if (!needs.some((need) => allows(one, need)))
            unused.push(`${action} on ${resource}${statement.Condition ? ` for prefix ${pattern}` : ''}`);
        }
      }
    }
  }
  return unused;
}
