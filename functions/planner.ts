// Placeholder: replaced by the real planner handler (issue 4).
export const handler = async (): Promise<void> => {};
