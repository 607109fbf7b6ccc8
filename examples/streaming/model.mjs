// A stand-in "model": it answers a prompt word by word, with a small delay between words, the
// way a component wrapping a language model streams tokens as they arrive. Each word is a
// chunk of the step's `tokens` stream; the step's result is the whole answer.
import { setTimeout as sleep } from 'node:timers/promises';
import { createServer } from 'weft/sdk';

const ANSWERS = {
  haiku: 'An old silent pond, a frog jumps into the pond, splash! Silence again.',
  default: 'Streaming lets the caller show each word as soon as the model has it, long before the step is done.',
};

createServer()
  .component('generate', {
    description: 'answers a prompt, streaming one word at a time to the "tokens" stream',
    inputSchema: {
      type: 'object',
      required: ['prompt'],
      properties: { prompt: { type: 'string' }, delayMs: { type: 'integer', minimum: 0 } },
    },
  }, async ({ prompt, delayMs = 40 }, ctx) => {
    const answer = /haiku/i.test(prompt) ? ANSWERS.haiku : ANSWERS.default;
    const words = answer.split(' ');
    const writer = ctx.getWritable({ stream: 'tokens' }).getWriter();
    for (const [i, word] of words.entries()) {
      await writer.write(i === 0 ? word : ` ${word}`);   // resolves once the runtime has room for it
      await sleep(delayMs);
    }
    await writer.close();                               // every word is taken (persisted)
    await ctx.emit({ words: words.length }, { stream: 'usage' });
    return { text: answer, words: words.length };
  })
  .serveStdio();
