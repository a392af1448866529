/** Path parameters several route modules share (each schema built on first use, functions/api/lazy.ts). */
import { once } from './lazy';
import * as s from './schemas';
import { z } from './schemas';

const params = z.strictObject;
export const pipeParams = /* @__PURE__ */ once(() => params({ pipeId: s.Id('pipe') }));
export const phaseParams = /* @__PURE__ */ once(() => params({ pipeId: s.Id('pipe'), phaseId: s.Id('phase') }));
export const pipeFieldParams = /* @__PURE__ */ once(() => params({ pipeId: s.Id('pipe'), fieldId: s.Id('field') }));
export const cardParams = /* @__PURE__ */ once(() => params({ cardId: s.Id('card') }));
export const dbParams = /* @__PURE__ */ once(() => params({ databaseId: s.Id('database') }));
export const dbFieldParams = /* @__PURE__ */ once(() => params({ databaseId: s.Id('database'), fieldId: s.Id('field') }));
export const recordParams = /* @__PURE__ */ once(() => params({ recordId: s.Id('record') }));
export const connectionParams = /* @__PURE__ */ once(() => params({ connectionId: s.Id('connection') }));

export const noContent = { status: 204, description: 'Deleted' };
