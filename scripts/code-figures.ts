// The code's shape in figures: the longest functions, the largest workflow files, and the import circles under src/.
// Run: npx tsx scripts/code-figures.ts [root]   (root defaults to this checkout; pass another to compare)
// test/unit/workflow-rules.test.ts holds the rules these figures watch.
import { readdirSync, readFileSync } from 'node:fs';
import path from 'node:path';
import ts from 'typescript';

export interface FunctionFigure {
  file: string;
  name: string;
  lines: number;
}

function sourceFiles(dir: string): string[] {
  return readdirSync(dir, { recursive: true, encoding: 'utf8' }).filter((f) => f.endsWith('.ts')).map((f) => path.join(dir, f)).sort();
}

/** Every function, method and arrow function with a body, with its length in lines. */
export function functionLengths(srcDir: string): FunctionFigure[] {
  const out: FunctionFigure[] = [];
  for (const file of sourceFiles(srcDir)) {
    const source = ts.createSourceFile(file, readFileSync(file, 'utf8'), ts.ScriptTarget.Latest, true);
    const visit = (node: ts.Node, owner: string) => {
      let name = owner;
      if (ts.isFunctionDeclaration(node) || ts.isMethodDeclaration(node) || ts.isArrowFunction(node) || ts.isFunctionExpression(node) || ts.isConstructorDeclaration(node)) {
        const named = (node as { name?: ts.Node }).name;
        const parent = node.parent;
        name = named ? named.getText(source) : ts.isVariableDeclaration(parent) ? parent.name.getText(source) : `${owner || '(anonymous)'} › callback`;
        if (node.body) {
          const start = source.getLineAndCharacterOfPosition(node.getStart(source)).line;
          const end = source.getLineAndCharacterOfPosition(node.getEnd()).line;
          out.push({ file: path.relative(path.dirname(srcDir), file), name, lines: end - start + 1 });
        }
      }
      ts.forEachChild(node, (child) => visit(child, name));
    };
    visit(source, '');
  }
  return out.sort((a, b) => b.lines - a.lines);
}

/** Relative imports between files under src/, type-only ones included (a circle of types is still a circle to read). */
export function importGraph(srcDir: string): Map<string, string[]> {
  const graph = new Map<string, string[]>();
  const files = new Set(sourceFiles(srcDir));
  for (const file of files) {
    const text = readFileSync(file, 'utf8');
    const specs = [...text.matchAll(/(?:from |import\()\s*'(\.[^']+)'/g)].map((m) => m[1]);
    const targets = specs.map((s) => {
      const base = path.resolve(path.dirname(file), s);
      for (const candidate of [`${base}.ts`, path.join(base, 'index.ts')]) if (files.has(candidate)) return candidate;
      return `${base}.ts`;
    });
    graph.set(file, [...new Set(targets)]);
  }
  return graph;
}

/** Each import circle once, as the files in it (Tarjan's strongly connected components of more than one file, or a self-import). */
export function importCircles(srcDir: string): string[][] {
  const graph = importGraph(srcDir);
  const index = new Map<string, number>();
  const low = new Map<string, number>();
  const stack: string[] = [];
  const onStack = new Set<string>();
  const circles: string[][] = [];
  let next = 0;
  const connect = (v: string) => {
    index.set(v, next);
    low.set(v, next++);
    stack.push(v);
    onStack.add(v);
    for (const w of graph.get(v) ?? []) {
      if (!graph.has(w)) continue;
      if (!index.has(w)) {
        connect(w);
        low.set(v, Math.min(low.get(v)!, low.get(w)!));
      } else if (onStack.has(w)) {
        low.set(v, Math.min(low.get(v)!, index.get(w)!));
      }
    }
    if (low.get(v) === index.get(v)) {
      const component: string[] = [];
      let w: string;
      do {
        w = stack.pop()!;
        onStack.delete(w);
        component.push(path.relative(path.dirname(srcDir), w));
      } while (w !== v);
      if (component.length > 1 || (graph.get(v) ?? []).includes(v)) circles.push(component.sort());
    }
  };
  for (const v of graph.keys()) if (!index.has(v)) connect(v);
  return circles;
}

/** Imports from src/'s shared modules (its root) into workflows/, activities/ or cli/: a lower layer reaching up. */
export function importsRunningUp(srcDir: string): string[] {
  const out: string[] = [];
  for (const [file, targets] of importGraph(srcDir)) {
    if (path.dirname(file) !== srcDir) continue;
    for (const t of targets) {
      const rel = path.relative(srcDir, t);
      if (/^(workflows|activities|cli)\//.test(rel) && !['worker.ts', 'client.ts', 'deploy-worker.ts'].includes(path.basename(file))) {
        out.push(`${path.relative(path.dirname(srcDir), file)} → ${path.relative(path.dirname(srcDir), t)}`);
      }
    }
  }
  return out;
}

/** Workflows and the CLI reaching into activities/ for anything but the DeployActivities interface (its index). */
export function activityInternalsImported(srcDir: string): string[] {
  const out: string[] = [];
  for (const [file, targets] of importGraph(srcDir)) {
    if (!/\/(workflows|cli)\//.test(file)) continue;
    for (const t of targets) {
      if (t.includes(`${path.sep}activities${path.sep}`) && !t.endsWith(path.join('activities', 'index.ts'))) out.push(`${path.relative(path.dirname(srcDir), file)} → ${path.relative(path.dirname(srcDir), t)}`);
    }
  }
  return out;
}

function main(): void {
  const root = path.resolve(process.argv[2] ?? path.join(__dirname, '..'));
  const src = path.join(root, 'src');
  const fns = functionLengths(src);
  console.log('longest functions:');
  for (const f of fns.slice(0, 5)) console.log(`  ${String(f.lines).padStart(4)}  ${f.file} ${f.name}`);
  const workflowFiles = sourceFiles(path.join(src, 'workflows'))
    .map((f) => ({ file: path.relative(root, f), lines: readFileSync(f, 'utf8').split('\n').length - 1 }))
    .sort((a, b) => b.lines - a.lines);
  console.log('largest workflow files:');
  for (const f of workflowFiles.slice(0, 4)) console.log(`  ${String(f.lines).padStart(4)}  ${f.file}`);
  const circles = importCircles(src);
  console.log(`import circles: ${circles.length}`);
  for (const c of circles) console.log(`  ${c.join(' ↔ ')}`);
  const up = importsRunningUp(src);
  console.log(`imports running up from src/'s shared modules: ${up.length}`);
  for (const u of up) console.log(`  ${u}`);
  const reach = activityInternalsImported(src);
  console.log(`workflows/ and cli/ importing activities/ internals: ${reach.length}`);
  for (const r of reach) console.log(`  ${r}`);
}

if (require.main === module) main();
