// CLI side of Temporal: connect with a helpful message when no server answers.
import { Client, Connection } from '@temporalio/client';
import { temporalTarget, unreachableHelp } from '../temporal';

export class CliError extends Error {
  constructor(message: string, readonly exitCode: number) {
    super(message);
  }
}

export async function connectClient(): Promise<{ client: Client; namespace: string; close: () => Promise<void> }> {
  const target = temporalTarget();
  let connection: Connection;
  try {
    connection = await Connection.connect({ ...target.connectionOptions, connectTimeout: '5s' });
  } catch (err) {
    throw new CliError(`${unreachableHelp(target.connectionOptions.address)}\n  (${(err as Error).message})`, 2);
  }
  return { client: new Client({ connection, namespace: target.namespace }), namespace: target.namespace, close: () => connection.close() };
}
