// The Binaryen instance of the wasm backend. Import it as `import binaryen from './binaryen.js'` (never from
// 'binaryen': two instances cannot share modules or expressions; test/cli-binaryen.test.ts checks that nothing does).
// Loaded through binaryen-load.ts: from the cache after the first run, about a fifth of a plain import's time.

import type B from 'binaryen';
import { sharedBinaryen } from './binaryen-load.js';

const binaryen: typeof B = (await sharedBinaryen()).binaryen;

// the type names the backend writes as `binaryen.X` (add one here when a new one is needed)
// eslint-disable-next-line @typescript-eslint/no-namespace
declare namespace binaryen {
  type Module = B.Module;
  type ExpressionRef = B.ExpressionRef;
  type Type = B.Type;
  type Features = B.Features;
  type FunctionRef = B.FunctionRef;
}

export default binaryen;
