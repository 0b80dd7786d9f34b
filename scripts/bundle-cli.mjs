// `npm run build`, last step: the CLI as a few ES module files (dist/cli/: the entry plus one chunk per lazily
// imported command) instead of ~300 modules, which Node 20 would resolve, read and link one by one (a third of a
// small model's compile time). bin/onnxc.js runs it while it is newer than every file it was bundled from
// (dist/cli/inputs.json), else the unbundled dist/compiler/cli.js. Packages stay external (loaded as installed).
import { readFileSync, rmSync, writeFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { dirname, relative, resolve, sep } from 'node:path';

/** Each `import.meta.url` (and `.dirname`, `.filename`) in a bundled module's code becomes that module's own
 *  location in dist/, so the files it finds beside itself (package.json, the prebuilt artifact loaders) are found
 *  as before. Replaced on the syntax tree (esbuild's define), so strings that mention it are left alone. */
function keepModuleUrls(esbuild, outdir) {
  return {
    name: 'keep-module-urls',
    setup(build) {
      build.onLoad({ filter: /\.js$/ }, (args) => {
        if (args.path.includes(`${sep}node_modules${sep}`)) return undefined;
        const text = readFileSync(args.path, 'utf8');
        if (!text.includes('import.meta')) return undefined;
        const rel = relative(outdir, args.path).split(sep).join('/');
        const define = { 'import.meta.url': '__moduleUrl', 'import.meta.dirname': '__moduleDir', 'import.meta.filename': '__moduleFile' };
        const { code } = esbuild.transformSync(text, { define, format: 'esm', loader: 'js', target: 'node20' });
        const head = `import { fileURLToPath as __toPath } from 'node:url';\nimport { dirname as __dirOf } from 'node:path';\n`
          + `const __moduleUrl = new URL(${JSON.stringify(rel)}, import.meta.url).href;\n`
          + 'const __moduleFile = __toPath(__moduleUrl), __moduleDir = __dirOf(__moduleFile);\n';
        return { contents: head + code, loader: 'js' };
      });
    },
  };
}

/** Bundles dist/compiler/cli.js into dist/cli/; resolves to the number of bundled modules. */
export async function bundleCli(root) {
  const esbuild = createRequire(import.meta.url)('esbuild');
  const outdir = resolve(root, 'dist', 'cli');
  rmSync(outdir, { recursive: true, force: true });
  const result = await esbuild.build({
    absWorkingDir: root, entryPoints: [resolve(root, 'dist', 'compiler', 'cli.js')],
    bundle: true, splitting: true, format: 'esm', platform: 'node', target: 'node20',
    packages: 'external', outdir, metafile: true, logLevel: 'warning', plugins: [keepModuleUrls(esbuild, outdir)],
  });
  const dist = resolve(root, 'dist');
  const inputs = Object.keys(result.metafile.inputs).map((p) => relative(dist, resolve(root, p)).split(sep).join('/'));
  writeFileSync(resolve(outdir, 'inputs.json'), `${JSON.stringify({ entry: 'cli.js', inputs })}\n`);
  return inputs.length;
}

// run directly: node scripts/bundle-cli.mjs
if (process.argv[1] && resolve(process.argv[1]) === resolve(new URL(import.meta.url).pathname)) {
  const root = resolve(dirname(new URL(import.meta.url).pathname), '..');
  console.log(`cli bundle: ${await bundleCli(root)} modules (dist/cli/)`);
}
