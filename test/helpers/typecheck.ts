import { mkdirSync, mkdtempSync, rmSync, symlinkSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import ts from 'typescript';

const ROOT = resolve(import.meta.dirname, '../..');

/**
 * Type-checks `code` as a user's module would see weft: in a scratch project whose
 * node_modules/weft links to this repo, so `import ... from 'weft'` resolves through the
 * package's exports to the built declarations (dist/, run `npm run build` first). Returns
 * each error as `line N: message`.
 */
export function typecheckAsUser(code: string): string[] {
  const dir = mkdtempSync(join(tmpdir(), 'weft-types-'));
  try {
    mkdirSync(join(dir, 'node_modules'));
    symlinkSync(ROOT, join(dir, 'node_modules', 'weft'), 'dir');
    writeFileSync(join(dir, 'package.json'), '{"type": "module"}');
    const file = join(dir, 'user.ts');
    writeFileSync(file, code);
    const program = ts.createProgram([file], {
      module: ts.ModuleKind.NodeNext, moduleResolution: ts.ModuleResolutionKind.NodeNext, target: ts.ScriptTarget.ES2022,
      strict: true, noEmit: true, skipLibCheck: true, types: ['node'], typeRoots: [join(ROOT, 'node_modules/@types')],
    });
    return ts.getPreEmitDiagnostics(program).filter((d) => d.file?.fileName === file || !d.file).map((d) => {
      const line = d.file && d.start !== undefined ? d.file.getLineAndCharacterOfPosition(d.start).line + 1 : 0;
      return `line ${line}: ${ts.flattenDiagnosticMessageText(d.messageText, '\n')}`;
    });
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}
