/**
 * Used by tests to break the stack the test runner started (STACK_CONTROL_URL).
 * Absent when the stack is external (KAFKA_BROKERS etc. given): fault tests then skip.
 */
export interface StackControl {
  kafkaNodes(): Promise<{ id: number; state: string; pid?: number; address: string }[]>;
  kafka(id: number, action: 'kill' | 'stop' | 'start'): Promise<void>;
  postgres(action: 'stop' | 'start' | 'kill'): Promise<void>;
}

export function stackControl(url = process.env.STACK_CONTROL_URL): StackControl | null {
  if (!url) return null;
  const call = async <T = unknown>(method: string, path: string): Promise<T> => {
    const res = await fetch(`${url}${path}`, { method });
    const body = await res.json();
    if (!res.ok) throw new Error(`stack control ${method} ${path}: ${JSON.stringify(body)}`);
    return body as T;
  };
  return {
    kafkaNodes: () => call<{ id: number; state: string; pid?: number; address: string }[]>('GET', '/kafka'),
    kafka: async (id, action) => {
      await call('POST', `/kafka/${id}/${action}`);
    },
    postgres: async (action) => {
      await call('POST', `/postgres/${action}`);
    },
  };
}
