import type { DataCallback, Message, MessageReader } from 'vscode-jsonrpc/node';

/**
 * The same reader, with `intercept` seeing each message first, synchronously as it is read
 * (before vscode-jsonrpc queues it for its next setImmediate); returning true consumes it.
 */
export function interceptReader(reader: MessageReader, intercept: (message: Message) => boolean): MessageReader {
  return {
    onError: reader.onError,
    onClose: reader.onClose,
    onPartialMessage: reader.onPartialMessage,
    dispose: () => reader.dispose(),
    listen: (callback: DataCallback) => reader.listen((message) => {
      if (!intercept(message)) callback(message);
    }),
  };
}
