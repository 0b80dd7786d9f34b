// onnxc's layout ops (made by passes/layout): channels-last forms of channels-first ONNX ops.

import type { AnyOpDef } from '../schema.js';
import { channelsLastOps } from './channels-last.js';

export const layoutOps: AnyOpDef[] = [...channelsLastOps];
export { channelsLastName } from './channels-last.js';
