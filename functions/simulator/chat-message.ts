/** One message of a simulated v2 chat (`messages[]`), shared by the chat generator and its details. */
export interface ChatMessage {
  author_name: string;
  text: string;
  date: string;
  timestamp: number;
  user_type: 'agent' | 'visitor' | 'supervisor';
  agent_id?: string;
}
