// Placeholder: replaced by the real worker handler (issue 4).
export const handler = async (): Promise<{ batchItemFailures: { itemIdentifier: string }[] }> => ({ batchItemFailures: [] });
