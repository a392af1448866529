/**
 * The API contract: zod schemas that validate requests and generate the OpenAPI document.
 * Shapes only; the rules that need stored state (options of a field, required fields of a
 * phase) live in the use cases.
 *
 * Every schema is built on first use (`once`, functions/api/lazy.ts): call it, `Pipe()`, to get
 * the schema. An API function then builds only the schemas of the requests it serves, not the
 * whole contract at import (a cold start), and the OpenAPI document gets the same instances.
 */
import { extendZodWithOpenApi } from '@asteasolutions/zod-to-openapi';
import { once } from './lazy';
import { z } from 'zod';
import { FIELD_TYPES, LIMITS, OPTION_TYPES } from '../../domain/fields/field-types';
import { idPattern, type IdKind } from '../../domain/kernel/ids';

extendZodWithOpenApi(z);

// A missing property says so, rather than "expected string, received undefined".
z.config({
  customError: (issue) => (issue.code === 'invalid_type' && issue.input === undefined ? 'is required' : undefined),
});

export { z };

export const Id = (kind: IdKind) =>
  z
    .string()
    .regex(idPattern(kind), { message: `must be a ${kind} id (${idPattern(kind).source.slice(1, 6)}…)` })
    .openapi({ example: `${idPattern(kind).source.split('_')[0]!.slice(1)}_01JD0000000000000000000000` });

const Name = /* @__PURE__ */ once(() => z.string().trim().min(1, 'must not be empty').max(120));
const Description = /* @__PURE__ */ once(() => z.string().max(2_000));
const Timestamp = /* @__PURE__ */ once(() => z.string().openapi({ format: 'date-time', example: '2026-11-27T09:30:00.000Z' }));

export const FieldType = /* @__PURE__ */ once(() => z.enum(FIELD_TYPES).openapi('FieldType'));

const Options = /* @__PURE__ */ once(() =>
  z
    .array(z.string().trim().min(1).max(LIMITS.optionLength))
    .max(LIMITS.options)
    .refine((items) => new Set(items).size === items.length, 'options must be unique'),
);

const fieldShape = /* @__PURE__ */ once(() => ({
  label: Name(),
  type: FieldType(),
  description: Description().optional(),
  required: z.boolean().optional().openapi({ description: 'Must be filled before a card leaves its phase (or, on the start form, to create it).' }),
  options: Options().optional().openapi({ description: 'Choices of single_select, multi_select and checklist fields.' }),
}));

function optionsMatchType(field: { type?: string; options?: string[] | undefined; connectionId?: string | undefined }, ctx: z.RefinementCtx) {
  if (field.type === undefined) return;
  if (field.type === 'connection' && !field.connectionId) {
    ctx.addIssue({ code: 'custom', path: ['connectionId'], message: 'a connection field names its connection (connectionId); create the connection first' });
  }
  if (field.type !== 'connection' && field.connectionId !== undefined) {
    ctx.addIssue({ code: 'custom', path: ['connectionId'], message: `a ${field.type} field takes no connectionId` });
  }
  const needsOptions = OPTION_TYPES.has(field.type as never);
  if (needsOptions && !field.options?.length) {
    ctx.addIssue({ code: 'custom', path: ['options'], message: `a ${field.type} field needs at least one option` });
  }
  if (!needsOptions && field.options !== undefined) {
    ctx.addIssue({ code: 'custom', path: ['options'], message: `a ${field.type} field takes no options` });
  }
}

/** A field defined inline while creating a pipe or a database. */
export const NewFieldInline = /* @__PURE__ */ once(() =>
  z
    .strictObject({
      ...fieldShape(),
      isTitle: z.boolean().optional().openapi({ description: 'The card or record title follows this field.' }),
    })
    .superRefine(optionsMatchType)
    .openapi('NewFieldInline'),
);

const connectionIdShape = /* @__PURE__ */ once(() => ({
  connectionId: Id('connection')
    .optional()
    .openapi({ description: 'connection fields: the connection (with this pipe or database as parent) whose children are the value.' }),
}));

export const CreatePipeField = /* @__PURE__ */ once(() =>
  z
    .strictObject({
      ...fieldShape(),
      ...connectionIdShape(),
      phaseId: Id('phase').nullable().optional().openapi({ description: 'The phase the field belongs to; omitted or null for the start form.' }),
    })
    .superRefine(optionsMatchType)
    .openapi('CreatePipeField'),
);

export const CreateDatabaseField = /* @__PURE__ */ once(() =>
  z
    .strictObject({ ...fieldShape(), ...connectionIdShape() })
    .superRefine(optionsMatchType)
    .openapi('CreateDatabaseField'),
);

export const UpdateField = /* @__PURE__ */ once(() =>
  z
    .strictObject({
      label: Name().optional(),
      description: Description().nullable().optional(),
      required: z.boolean().optional(),
      options: Options().optional(),
    })
    .openapi('UpdateField'),
);

export const Field = /* @__PURE__ */ once(() =>
  z
    .object({
      id: Id('field'),
      label: z.string(),
      type: FieldType(),
      description: z.string().optional(),
      required: z.boolean(),
      options: z.array(z.string()).optional(),
      connectionId: z.string().optional(),
      phaseId: z.string().nullable().optional().openapi({ description: 'Pipe fields only: null for the start form.' }),
      createdAt: Timestamp(),
      updatedAt: Timestamp(),
    })
    .openapi('Field'),
);

const NewPhase = /* @__PURE__ */ once(() =>
  z.strictObject({
    name: Name(),
    description: Description().optional(),
    done: z.boolean().optional().openapi({ description: 'Cards in a done phase are finished.' }),
    fields: z.array(NewFieldInline()).max(50).optional(),
  }),
);

export const CreatePipe = /* @__PURE__ */ once(() =>
  z
    .strictObject({
      name: Name(),
      description: Description().optional(),
      startFormFields: z.array(NewFieldInline()).max(50).optional(),
      phases: z.array(NewPhase()).min(1).max(30).optional().openapi({ description: 'In order; the first is the start phase. Defaults to To do, Doing, Done.' }),
    })
    .superRefine((pipe, ctx) => {
      const all = [...(pipe.startFormFields ?? []), ...(pipe.phases ?? []).flatMap((p) => p.fields ?? [])];
      if (all.filter((f) => f.isTitle).length > 1) {
        ctx.addIssue({ code: 'custom', path: ['phases'], message: 'at most one field may be the title field' });
      }
      if (all.length + (pipe.phases?.length ?? 3) > 98) {
        ctx.addIssue({ code: 'custom', path: ['phases'], message: 'a pipe is created with at most 98 phases and fields in all; add more afterwards' });
      }
    })
    .openapi('CreatePipe'),
);

export const UpdatePipe = /* @__PURE__ */ once(() =>
  z
    .strictObject({
      name: Name().optional(),
      description: Description().nullable().optional(),
      phaseOrder: z.array(Id('phase')).min(1).max(100).optional().openapi({ description: 'All phase ids of the pipe, in their new order.' }),
      titleFieldId: Id('field').nullable().optional(),
    })
    .openapi('UpdatePipe'),
);

export const CreatePhase = /* @__PURE__ */ once(() =>
  z
    .strictObject({
      name: Name(),
      description: Description().optional(),
      done: z.boolean().optional(),
      position: z.number().int().min(0).max(100).optional().openapi({ description: '0-based position; appended when omitted.' }),
    })
    .openapi('CreatePhase'),
);

export const UpdatePhase = /* @__PURE__ */ once(() =>
  z.strictObject({ name: Name().optional(), description: Description().nullable().optional(), done: z.boolean().optional() }).openapi('UpdatePhase'),
);

export const Phase = /* @__PURE__ */ once(() =>
  z
    .object({
      id: Id('phase'),
      name: z.string(),
      description: z.string().optional(),
      done: z.boolean(),
      fields: z.array(Field()),
    })
    .openapi('Phase'),
);

/** What pipes and databases share; each summary is its own object (an allOf would join two id patterns). */
const containerSummaryShape = /* @__PURE__ */ once(() => ({
  name: z.string(),
  description: z.string().optional(),
  version: z.number().int(),
  createdAt: Timestamp(),
  updatedAt: Timestamp(),
}));

export const PipeSummary = /* @__PURE__ */ once(() => z.object({ id: Id('pipe'), ...containerSummaryShape() }).openapi('PipeSummary'));

/** Defined below with the connection schemas; referenced lazily by pipes and databases. */
const ContainerConnections = /* @__PURE__ */ once(() =>
  z.lazy(() =>
    z.object({ asParent: z.array(Connection()), asChild: z.array(Connection()) }).openapi({ description: 'Connections this pipe or database takes part in.' }),
  ),
);

export const Pipe = /* @__PURE__ */ once(() =>
  PipeSummary()
    .extend({
      titleFieldId: z.string().nullable(),
      startForm: z.object({ fields: z.array(Field()) }),
      phases: z.array(Phase()),
      connections: ContainerConnections(),
    })
    .openapi('Pipe'),
);

// ——— Field values, one schema per field type (documentation of domain/fields/field-types.ts checkValue) ———

const ItemIdValue = /* @__PURE__ */ once(() => z.string().regex(/^(card|rec)_[0-9A-HJKMNP-TV-Z]{26}$/));

/** What each field type stores and shows; the use cases check a request's values against them (422). */
export const FieldValueSchemas = /* @__PURE__ */ once(
  () =>
    ({
      short_text: z.string().max(LIMITS.shortText).openapi('ShortTextValue', { description: 'short_text: one line.', example: 'Ada Lovelace' }),
      long_text: z.string().max(LIMITS.longText).openapi('LongTextValue', { description: 'long_text.', example: 'Line 1\nLine 2' }),
      number: z
        .number()
        .min(-Number.MAX_SAFE_INTEGER)
        .max(Number.MAX_SAFE_INTEGER)
        .openapi('NumberValue', { description: 'number: 0, or a magnitude from 1e-130 (what DynamoDB stores) to 2^53 − 1.', example: 42.5 }),
      currency: z
        .number()
        .multipleOf(0.01)
        .gt(-1e13)
        .lt(1e13)
        .openapi('CurrencyValue', { description: 'currency: a number with at most 2 decimals.', example: 1999.99 }),
      date: z.string().openapi('DateValue', { format: 'date', description: 'date: a calendar date YYYY-MM-DD.', example: '2026-12-01' }),
      datetime: z.string().openapi('DateTimeValue', {
        format: 'date-time',
        description: 'datetime: ISO 8601 with a time zone; stored and shown in UTC.',
        example: '2026-12-01T09:30:00.000Z',
      }),
      email: z.string().openapi('EmailValue', { format: 'email', description: 'email: an address (trimmed).', example: 'ada@example.com' }),
      phone: z
        .string()
        .regex(/^\+[1-9]\d{6,14}$/)
        .openapi('PhoneValue', { description: 'phone: E.164; spaces, dots, dashes and brackets are dropped on input.', example: '+14155550123' }),
      single_select: z.string().openapi('SingleSelectValue', { description: "single_select: one of the field's options.", example: 'Urgent' }),
      multi_select: z
        .array(z.string())
        .max(LIMITS.listValues)
        .openapi('MultiSelectValue', { description: 'multi_select: distinct options of the field.', example: ['Backend', 'API'] }),
      checklist: z
        .array(z.string())
        .max(LIMITS.listValues)
        .openapi('ChecklistValue', { description: 'checklist: the checked options, distinct.', example: ['Contract signed', 'Laptop'] }),
      assignee: z
        .array(z.string().regex(/^[A-Za-z0-9._@:|+-]{1,128}$/))
        .max(LIMITS.listValues)
        .openapi('AssigneeValue', { description: "assignee: distinct user ids (a token's sub).", example: ['auth0|ada', 'user-7'] }),
      attachment: z
        .array(z.string().max(LIMITS.url).openapi({ format: 'uri' }))
        .max(20)
        .openapi('AttachmentValue', { description: 'attachment: distinct http(s) URLs.', example: ['https://files.example.com/cv.pdf'] }),
      connection: z
        .array(ItemIdValue())
        .max(LIMITS.listValues)
        .openapi('ConnectionValue', {
          description: 'connection: ids of the connected cards or records; a list replaces them all.',
          example: ['card_01JD0000000000000000000000'],
        }),
    }) satisfies Record<(typeof FIELD_TYPES)[number], z.ZodType>,
);

export const ConnectionChange = /* @__PURE__ */ once(() =>
  z
    .strictObject({ add: z.array(ItemIdValue()).max(LIMITS.listValues).optional(), remove: z.array(ItemIdValue()).max(LIMITS.listValues).optional() })
    .openapi('ConnectionChange', {
      description: 'connection fields, on write: ids to connect and to disconnect.',
      example: { add: ['card_01JD0000000000000000000000'] },
    }),
);

/** The component name of each field type's value schema. */
export const fieldValueComponent = (type: (typeof FIELD_TYPES)[number]) =>
  `${type
    .split('_')
    .map((w) => (w === 'datetime' ? 'DateTime' : w[0]!.toUpperCase() + w.slice(1)))
    .join('')}Value`;

/** A stored value, as GET shows it: one of the field types' values. */
export const FieldValue = /* @__PURE__ */ once(() =>
  z.union([z.string(), z.number(), z.array(z.string())]).openapi('FieldValue', {
    description: "A value of one of the field types (see the *Value components); which one follows from the field's type.",
    anyOf: FIELD_TYPES.map((type) => ({ $ref: `#/components/schemas/${fieldValueComponent(type)}` })),
  }),
);

/** Field values keyed by field id; each field type checks its own values (422 names the field). */
export const Values = /* @__PURE__ */ once(() =>
  z
    .record(
      Id('field'),
      z.unknown().openapi({
        description: 'A value of the field type, or null to clear it; for a connection field, a list of ids (replaces all) or { add, remove }.',
        anyOf: [{ $ref: '#/components/schemas/FieldValue' }, { $ref: '#/components/schemas/ConnectionChange' }, { type: 'null' }],
      }),
    )
    .refine((values) => Object.keys(values).length <= 200, 'at most 200 values at once')
    .openapi('Values', {
      description: 'Values keyed by field id. null clears a value.',
      example: { fld_01JD0000000000000000000000: 'Ada Lovelace' },
    }),
);

const ItemTitle = /* @__PURE__ */ once(() => z.string().trim().min(1).max(LIMITS.shortText));

export const CreateCard = /* @__PURE__ */ once(() => z.strictObject({ title: ItemTitle().optional(), values: Values().optional() }).openapi('CreateCard'));
export const UpdateCard = /* @__PURE__ */ once(() => z.strictObject({ title: ItemTitle().optional(), values: Values().optional() }).openapi('UpdateCard'));
export const MoveCard = /* @__PURE__ */ once(() => z.strictObject({ phaseId: Id('phase') }).openapi('MoveCard'));

export const PhaseVisit = /* @__PURE__ */ once(() =>
  z.object({ phaseId: z.string(), enteredAt: Timestamp(), leftAt: Timestamp().optional() }).openapi('PhaseVisit'),
);

/** Connection fields whose value in `values` shows only the first ids (see domain/items/views.ts). */
const ValuesTruncated = /* @__PURE__ */ once(() =>
  z
    .array(z.string())
    .optional()
    .openapi({
      description: `Connection fields whose value lists only the first ${LIMITS.listValues} connected ids (in id order) because more are connected; page them all with GET …/children?connectionId=. Absent when every value is whole.`,
    }),
);

export const Card = /* @__PURE__ */ once(() =>
  z
    .object({
      id: Id('card'),
      pipeId: Id('pipe'),
      phaseId: Id('phase'),
      title: z.string(),
      values: z.record(z.string(), FieldValue()),
      valuesTruncated: ValuesTruncated(),
      finished: z.boolean(),
      finishedAt: Timestamp().optional(),
      phaseHistory: z.array(PhaseVisit()),
      version: z.number().int(),
      createdBy: z.string(),
      createdAt: Timestamp(),
      updatedAt: Timestamp(),
    })
    .openapi('Card'),
);

export const CreateDatabase = /* @__PURE__ */ once(() =>
  z
    .strictObject({ name: Name(), description: Description().optional(), fields: z.array(NewFieldInline()).max(90).optional() })
    .superRefine((db, ctx) => {
      if ((db.fields ?? []).filter((f) => f.isTitle).length > 1) {
        ctx.addIssue({ code: 'custom', path: ['fields'], message: 'at most one field may be the title field' });
      }
    })
    .openapi('CreateDatabase'),
);

export const UpdateDatabase = /* @__PURE__ */ once(() =>
  z
    .strictObject({ name: Name().optional(), description: Description().nullable().optional(), titleFieldId: Id('field').nullable().optional() })
    .openapi('UpdateDatabase'),
);

export const DatabaseSummary = /* @__PURE__ */ once(() => z.object({ id: Id('database'), ...containerSummaryShape() }).openapi('DatabaseSummary'));
export const Database = /* @__PURE__ */ once(() =>
  DatabaseSummary()
    .extend({ titleFieldId: z.string().nullable(), fields: z.array(Field()), connections: ContainerConnections() })
    .openapi('Database'),
);

export const CreateRecord = /* @__PURE__ */ once(() => z.strictObject({ title: ItemTitle().optional(), values: Values().optional() }).openapi('CreateRecord'));
export const UpdateRecord = /* @__PURE__ */ once(() => z.strictObject({ title: ItemTitle().optional(), values: Values().optional() }).openapi('UpdateRecord'));

export const DbRecord = /* @__PURE__ */ once(() =>
  z
    .object({
      id: Id('record'),
      databaseId: Id('database'),
      title: z.string(),
      values: z.record(z.string(), FieldValue()),
      valuesTruncated: ValuesTruncated(),
      version: z.number().int(),
      createdBy: z.string(),
      createdAt: Timestamp(),
      updatedAt: Timestamp(),
    })
    .openapi('Record'),
);

export const Pagination = /* @__PURE__ */ once(() =>
  z.strictObject({
    limit: z.coerce.number().int().min(1).max(100).optional().openapi({ description: 'Page size, 1 to 100 (default 50).' }),
    cursor: z.string().max(2_048).optional().openapi({ description: 'nextCursor of the previous page.' }),
  }),
);

export const ListCardsQuery = /* @__PURE__ */ once(() => Pagination().extend({ phaseId: Id('phase').optional() }));

export const page = <T extends z.ZodType>(item: T, name: string) =>
  z
    .object({
      items: z.array(item),
      nextCursor: z.string().nullable().openapi({ description: 'Pass as ?cursor= for the next page; null on the last page.' }),
    })
    .openapi(name);

export const Problem = /* @__PURE__ */ once(() =>
  z
    .looseObject({
      type: z.string().openapi({ example: 'urn:cardflow:problem:validation.invalidInput' }),
      title: z.string().openapi({ example: 'Validation' }),
      status: z.number().int().openapi({ example: 422 }),
      detail: z.string(),
      code: z.string().openapi({ description: 'Stable, namespaced: switch on this, not on the detail text.', example: 'validation.invalidInput' }),
      instance: z.string().optional(),
      requestId: z.string().optional().openapi({ description: 'Quote it when you report a problem.' }),
      errors: z
        .array(z.object({ path: z.string().openapi({ example: 'values.fld_01JD0000000000000000000000' }), message: z.string(), code: z.string() }))
        .optional()
        .openapi({ description: 'Every problem of the request, each with the path of the input it concerns.' }),
    })
    .openapi('Problem', { description: 'RFC 9457 problem details; other members (such as retryAfterSeconds or limitBytes) carry context.' }),
);

export const DeadLetter = /* @__PURE__ */ once(() =>
  z
    .object({
      at: Timestamp(),
      reason: z.string(),
      attempts: z.number().int(),
      records: z.array(
        z.object({ eventID: z.string().optional(), eventName: z.string().optional(), sequenceNumber: z.string().optional(), keys: z.unknown().optional() }),
      ),
    })
    .openapi('DeadLetter', { description: 'Stream records the processors gave up on, with the reason.' }),
);

export const Health = /* @__PURE__ */ once(() => z.object({ status: z.literal('ok'), version: z.string() }).openapi('Health'));

export const DocsAssetParams = /* @__PURE__ */ once(() =>
  z.object({
    asset: z.string().min(1).max(64).openapi({ description: 'swagger-ui-bundle.js, swagger-ui.css or init.js', example: 'swagger-ui.css' }),
  }),
);

export type CreatePipeInput = z.infer<ReturnType<typeof CreatePipe>>;
export type NewFieldInlineInput = z.infer<ReturnType<typeof NewFieldInline>>;

// ——— Connections ———

export const ContainerRef = /* @__PURE__ */ once(() =>
  z
    .strictObject({ type: z.enum(['pipe', 'database']), id: z.string() })
    .superRefine((ref, ctx) => {
      const kind = ref.type === 'pipe' ? 'pipe' : 'database';
      if (!idPattern(kind).test(ref.id)) ctx.addIssue({ code: 'custom', path: ['id'], message: `must be a ${kind} id` });
    })
    .openapi('ContainerRef'),
);

export const FieldMapEntry = /* @__PURE__ */ once(() =>
  z
    .strictObject({
      childFieldId: Id('field'),
      parentFieldId: Id('field').optional().openapi({ description: 'Copy the value of this parent field…' }),
      value: z.unknown().optional().openapi({ description: '…or set this fixed value.' }),
      sync: z.boolean().optional().openapi({ description: 'The child field follows later parent changes and is read-only on the child. Needs parentFieldId.' }),
    })
    .superRefine((entry, ctx) => {
      if ((entry.parentFieldId === undefined) === (entry.value === undefined)) {
        ctx.addIssue({ code: 'custom', path: ['parentFieldId'], message: 'give either parentFieldId or value' });
      }
      if (entry.sync && entry.parentFieldId === undefined)
        ctx.addIssue({ code: 'custom', path: ['sync'], message: 'only a copied parent field can be synced' });
    })
    .openapi('FieldMapEntry'),
);

export const ConnectionRules = /* @__PURE__ */ once(() =>
  z
    .strictObject({
      childRequiredToMove: z.boolean().optional().openapi({ description: 'A child must exist before the parent card may leave its phase.' }),
      childRequiredToFinish: z.boolean().optional().openapi({ description: 'A child must exist before the parent card may enter a done phase.' }),
      childrenFinishedToMove: z.boolean().optional().openapi({ description: 'All children must be finished before the parent card may leave its phase.' }),
      childrenFinishedToFinish: z.boolean().optional().openapi({ description: 'All children must be finished before the parent card may enter a done phase.' }),
    })
    .openapi('ConnectionRules'),
);

const Entries = /* @__PURE__ */ once(() =>
  z.enum(['single', 'multiple']).openapi({ description: 'single: a parent has at most one child through the connection.' }),
);
const OnParentDelete = /* @__PURE__ */ once(() =>
  z
    .enum(['unlink', 'block', 'cascade'])
    .openapi({ description: 'What deleting a parent does to its children: unlink them (default), refuse (409), or delete them too.' }),
);

const connectionShape = /* @__PURE__ */ once(() => ({
  name: Name(),
  entries: Entries(),
  maxChildren: z.number().int().min(1).max(100_000).optional().openapi({ description: 'multiple entries: at most this many children per parent.' }),
  canCreate: z.boolean().optional().openapi({ description: 'Children may be created from the parent (default true).' }),
  canConnectExisting: z.boolean().optional().openapi({ description: 'Existing items may be searched and connected (default true).' }),
  fieldMap: z.array(FieldMapEntry()).max(100).optional(),
  rules: ConnectionRules().optional(),
  onParentDelete: OnParentDelete().optional(),
}));

export const CreateConnection = /* @__PURE__ */ once(() =>
  z
    .strictObject({ ...connectionShape(), parent: ContainerRef(), child: ContainerRef() })
    .superRefine((c, ctx) => {
      if (c.entries === 'single' && c.maxChildren !== undefined)
        ctx.addIssue({ code: 'custom', path: ['maxChildren'], message: 'single entries allow one child; drop maxChildren' });
      if (c.canCreate === false && c.canConnectExisting === false)
        ctx.addIssue({ code: 'custom', path: ['canCreate'], message: 'allow creating, connecting existing items, or both' });
    })
    .openapi('CreateConnection'),
);

export const UpdateConnection = /* @__PURE__ */ once(() =>
  z
    .strictObject({
      name: Name().optional(),
      entries: Entries().optional(),
      maxChildren: z.number().int().min(1).max(100_000).nullable().optional(),
      canCreate: z.boolean().optional(),
      canConnectExisting: z.boolean().optional(),
      fieldMap: z.array(FieldMapEntry()).max(100).optional(),
      rules: ConnectionRules().optional(),
      onParentDelete: OnParentDelete().optional(),
    })
    .openapi('UpdateConnection'),
);

export const Connection = /* @__PURE__ */ once(() =>
  z
    .object({
      id: Id('connection'),
      name: z.string(),
      parent: ContainerRef(),
      child: ContainerRef(),
      entries: Entries(),
      maxChildren: z.number().int().optional(),
      canCreate: z.boolean(),
      canConnectExisting: z.boolean(),
      fieldMap: z.array(z.object({ childFieldId: z.string(), parentFieldId: z.string().optional(), value: z.unknown().optional(), sync: z.boolean() })),
      rules: z.object({
        childRequiredToMove: z.boolean(),
        childRequiredToFinish: z.boolean(),
        childrenFinishedToMove: z.boolean(),
        childrenFinishedToFinish: z.boolean(),
      }),
      onParentDelete: OnParentDelete(),
      version: z.number().int(),
      createdAt: Timestamp(),
      updatedAt: Timestamp(),
    })
    .openapi('Connection'),
);

export const ListConnectionsQuery = /* @__PURE__ */ once(() =>
  Pagination().extend({
    pipeId: Id('pipe').optional(),
    databaseId: Id('database').optional(),
  }),
);

export const DeleteConnectionQuery = /* @__PURE__ */ once(() =>
  z.strictObject({
    cascade: z.enum(['true', 'false']).optional().openapi({ description: 'true: also remove every edge made through the connection.' }),
  }),
);

const ItemId = /* @__PURE__ */ once(() =>
  z
    .string()
    .regex(/^(card|rec)_[0-9A-HJKMNP-TV-Z]{26}$/, { message: 'must be a card or record id' })
    .openapi({ example: 'card_01JD0000000000000000000000' }),
);

export const CandidatesQuery = /* @__PURE__ */ once(() =>
  Pagination().extend({
    parentId: ItemId().openapi({ description: 'The parent card or record; candidates already connected to it are marked.' }),
    q: z.string().max(200).optional().openapi({ description: 'Title prefix, case- and accent-insensitive.' }),
    finished: z.enum(['true', 'false']).optional().openapi({ description: 'Only finished (true) or unfinished (false) cards.' }),
  }),
);

export const ConnectChild = /* @__PURE__ */ once(() =>
  z
    .union([
      z.strictObject({ connectionId: Id('connection'), childId: ItemId() }),
      z.strictObject({ connectionId: Id('connection'), create: z.strictObject({ title: ItemTitle().optional(), values: Values().optional() }) }),
    ])
    .openapi('ConnectChild', { description: 'Connect an existing card or record (childId), or create one from the parent (create).' }),
);

export const ChildrenQuery = /* @__PURE__ */ once(() => Pagination().extend({ connectionId: Id('connection') }));
export const RemoveChildQuery = /* @__PURE__ */ once(() => z.strictObject({ connectionId: Id('connection') }));

export const ItemSummary = /* @__PURE__ */ once(() =>
  z
    .object({
      id: z.string(),
      type: z.enum(['card', 'record']),
      containerId: z.string(),
      title: z.string(),
      phaseId: z.string().optional(),
      finished: z.boolean(),
      version: z.number().int(),
    })
    .openapi('ItemSummary'),
);

export const ConnectedItem = /* @__PURE__ */ once(() => ItemSummary().extend({ connectedAt: Timestamp() }).openapi('ConnectedItem'));

export const ConnectionGroup = /* @__PURE__ */ once(() =>
  z
    .object({
      connectionId: z.string(),
      count: z.number().int().optional().openapi({ description: 'children: how many in all' }),
      items: z.array(ConnectedItem()),
      hasMore: z.boolean().optional().openapi({ description: 'children: more than shown; page with GET …/children?connectionId=' }),
    })
    .openapi('ConnectionGroup'),
);

const withConnections = /* @__PURE__ */ once(() => ({ parents: z.array(ConnectionGroup()), children: z.array(ConnectionGroup()) }));
export const CardWithConnections = /* @__PURE__ */ once(() => Card().extend(withConnections()).openapi('CardWithConnections'));
export const RecordWithConnections = /* @__PURE__ */ once(() => DbRecord().extend(withConnections()).openapi('RecordWithConnections'));

export const ConnectedChild = /* @__PURE__ */ once(() =>
  ConnectedItem()
    .extend({ connectionId: Id('connection') })
    .openapi('ConnectedChild'),
);

/** POST …/children answers the edge it made (connect) or the child it created (create). */
export const AddedChild = /* @__PURE__ */ once(() =>
  z
    .union([ConnectedChild(), Card(), DbRecord()])
    .openapi(
      'AddedChild',
      { description: 'Connect (childId): the connected child with connectionId and connectedAt. Create: the new card or record, as GET shows it.' },
      { unionPreferredType: 'oneOf' },
    ),
);

export const Candidate = /* @__PURE__ */ once(() => ItemSummary().extend({ connected: z.boolean() }).openapi('Candidate'));

export type CreateConnectionInput = z.infer<ReturnType<typeof CreateConnection>>;
export type UpdateConnectionInput = z.infer<ReturnType<typeof UpdateConnection>>;

// ——— Automations ———

const AutomationTrigger = /* @__PURE__ */ once(() =>
  z
    .discriminatedUnion('type', [
      z.strictObject({ type: z.literal('card.created') }).openapi({ description: 'A card is created in the pipe (directly, or as a connected child).' }),
      z.strictObject({ type: z.literal('card.entered_phase'), phaseId: Id('phase') }).openapi({ description: 'A card of the pipe is moved into this phase.' }),
      z
        .strictObject({ type: z.literal('field.changed'), fieldId: Id('field') })
        .openapi({ description: 'A value of this field changes (not through propagation from a parent).' }),
      z.strictObject({ type: z.literal('children.all_finished'), connectionId: Id('connection') }).openapi({
        description: 'The last unfinished child of a card through this connection (the pipe is its parent) finishes. The action applies to the parent.',
      }),
    ])
    .openapi('AutomationTrigger'),
);

const AutomationAction = /* @__PURE__ */ once(() =>
  z
    .discriminatedUnion('type', [
      z
        .strictObject({ type: z.literal('create_connected_card'), connectionId: Id('connection') })
        .openapi({ description: "Create a child of the card through this connection (the pipe is its parent), filled in from the connection's field map." }),
      z
        .strictObject({ type: z.literal('move_card'), phaseId: Id('phase') })
        .openapi({ description: 'Move the card to this phase (nothing happens if it is there already).' }),
      z
        .strictObject({
          type: z.literal('set_field'),
          fieldId: Id('field'),
          value: z.unknown().openapi({ description: 'A value of the field type; null clears the field.' }),
        })
        .openapi({ description: 'Set a field of the card (nothing happens if it holds the value already).' }),
    ])
    .openapi('AutomationAction'),
);

const automationShape = /* @__PURE__ */ once(() => ({
  name: Name(),
  enabled: z.boolean().optional().openapi({ description: 'Disabled automations do not run (default true).' }),
  trigger: AutomationTrigger(),
  action: AutomationAction(),
}));

export const CreateAutomation = /* @__PURE__ */ once(() =>
  z
    .strictObject({ ...automationShape(), pipeId: Id('pipe').openapi({ description: 'The pipe whose cards trigger the automation.' }) })
    .openapi('CreateAutomation'),
);

export const UpdateAutomation = /* @__PURE__ */ once(() =>
  z
    .strictObject({ name: Name().optional(), enabled: z.boolean().optional(), trigger: AutomationTrigger().optional(), action: AutomationAction().optional() })
    .openapi('UpdateAutomation'),
);

export const Automation = /* @__PURE__ */ once(() =>
  z
    .object({
      id: Id('automation'),
      name: z.string(),
      pipeId: Id('pipe'),
      enabled: z.boolean(),
      trigger: AutomationTrigger(),
      action: AutomationAction(),
      version: z.number().int(),
      createdBy: z.string(),
      createdAt: Timestamp(),
      updatedAt: Timestamp(),
    })
    .openapi('Automation'),
);

export const ListAutomationsQuery = /* @__PURE__ */ once(() =>
  Pagination().extend({
    pipeId: Id('pipe')
      .optional()
      .openapi({ description: 'The pipe whose automations to list; without it, every automation of the organization (oldest first).' }),
  }),
);

export const AutomationRun = /* @__PURE__ */ once(() =>
  z
    .object({
      automationId: Id('automation'),
      triggerKey: z
        .string()
        .openapi({ description: 'What the run fired on: the card and its version, or the parent, connection and set of finished children.' }),
      trigger: z.string(),
      subjectId: z.string().openapi({ description: 'The card the action applies to.' }),
      status: z.enum(['running', 'done', 'failed', 'skipped']),
      attempts: z.number().int(),
      childId: z.string().optional().openapi({ description: 'create_connected_card: the id of the child, fixed when the run is claimed.' }),
      error: z
        .object({ code: z.string(), message: z.string(), at: Timestamp() })
        .optional()
        .openapi({ description: 'failed: why the last attempt failed; skipped: why the run did not act.' }),
      createdAt: Timestamp(),
      updatedAt: Timestamp(),
    })
    .openapi('AutomationRun'),
);

export type CreateAutomationInput = z.infer<ReturnType<typeof CreateAutomation>>;
export type UpdateAutomationInput = z.infer<ReturnType<typeof UpdateAutomation>>;
export type AutomationTriggerInput = z.infer<ReturnType<typeof AutomationTrigger>>;
export type AutomationActionInput = z.infer<ReturnType<typeof AutomationAction>>;

// ——— Webhooks ———
// (An import may stand anywhere at module level; this one serves only this section.)
import { EVENT_TYPES, EVENT_TYPE_WILDCARDS } from '../../domain/webhooks/events';

export const EventType = /* @__PURE__ */ once(() => z.enum(EVENT_TYPES).openapi('EventType'));

export const EventTypePattern = /* @__PURE__ */ once(() =>
  z
    .enum([...EVENT_TYPES, ...EVENT_TYPE_WILDCARDS])
    .openapi('EventTypePattern', { description: 'An event type, or a family of them (`card.*`, `record.*`, `connection.*`).' }),
);

const WebhookUrl = /* @__PURE__ */ once(() =>
  z.string().min(1).max(2_048).openapi({
    format: 'uri',
    description: 'Where events are POSTed: https to a public host (http to localhost only where the deployment allows loopback, for local development).',
    example: 'https://erp.example.com/hooks/cardflow',
  }),
);

const WebhookDescription = /* @__PURE__ */ once(() => z.string().trim().max(500));

export const CreateWebhook = /* @__PURE__ */ once(() =>
  z
    .strictObject({
      url: WebhookUrl(),
      eventTypes: z.array(EventTypePattern()).min(1).max(20),
      enabled: z.boolean().optional().openapi({ description: 'Default true; a disabled webhook receives nothing.' }),
      description: WebhookDescription().optional(),
    })
    .openapi('CreateWebhook'),
);

export const UpdateWebhook = /* @__PURE__ */ once(() =>
  z
    .strictObject({
      url: WebhookUrl().optional(),
      eventTypes: z.array(EventTypePattern()).min(1).max(20).optional(),
      enabled: z.boolean().optional(),
      description: WebhookDescription().nullable().optional(),
    })
    .openapi('UpdateWebhook'),
);

export const Webhook = /* @__PURE__ */ once(() =>
  z
    .object({
      id: Id('webhook'),
      url: z.string(),
      eventTypes: z.array(EventTypePattern()),
      enabled: z.boolean(),
      description: z.string().optional(),
      secretHint: z.string().openapi({
        description: 'The first characters of the signing secret, to tell secrets apart. The secret itself is shown only on creation and rotation.',
      }),
      previousSecretExpiresAt: Timestamp().optional().openapi({
        description: 'After a rotation: until then deliveries carry a second signature made with the previous secret.',
      }),
      consecutiveFailures: z
        .number()
        .int()
        .openapi({ description: 'Failed delivery attempts in a row. From 5 on, a failed attempt is not retried until one succeeds (circuit breaker).' }),
      lastFailureAt: Timestamp().optional(),
      version: z.number().int(),
      createdBy: z.string(),
      createdAt: Timestamp(),
      updatedAt: Timestamp(),
    })
    .openapi('Webhook'),
);

export const WebhookWithSecret = /* @__PURE__ */ once(() =>
  Webhook()
    .extend({
      secret: z.string().openapi({ description: 'The signing secret (`whsec_` + base64 of 32 bytes). Shown this once: store it now.' }),
    })
    .openapi('WebhookWithSecret'),
);

export const DeliveryStatus = /* @__PURE__ */ once(() => z.enum(['pending', 'succeeded', 'failed']).openapi('DeliveryStatus'));

export const DeliveryAttempt = /* @__PURE__ */ once(() =>
  z
    .object({
      attempt: z.number().int(),
      at: Timestamp(),
      durationMs: z.number().int(),
      statusCode: z.number().int().optional(),
      error: z.string().optional(),
    })
    .openapi('DeliveryAttempt'),
);

export const CardflowEvent = /* @__PURE__ */ once(() =>
  z
    .object({
      id: z.string().openapi({
        description: 'Stable: the same event always has the same id (sent as webhook-id). Ids sort by time.',
        example: 'evt_01JD0000000000000000000000',
      }),
      type: EventType(),
      occurredAt: Timestamp(),
      orgId: z.string(),
      data: z.record(z.string(), z.unknown()).openapi({
        description:
          "card.* / record.*: the card or record as the API shows it (card.moved adds fromPhaseId and toPhaseId; *.updated adds changedFieldIds and, if the title changed, previousTitle). connection.*: connectionId, parentId, parentType, childId, childType and the child summary. Every event also carries `actor` (who made the change, as in activity; null when unknown) and *.updated and card.moved carry `changes`, the same change list as the item's activity entry (GET /v1/cards/{id}/activity), so a receiver can mirror history without polling.",
      }),
    })
    .openapi('Event'),
);

export const WebhookDelivery = /* @__PURE__ */ once(() =>
  z
    .object({
      webhookId: Id('webhook'),
      eventId: z.string(),
      eventType: EventType(),
      status: DeliveryStatus(),
      attempts: z.number().int(),
      nextAttemptAt: Timestamp().optional().openapi({ description: 'pending: when the next attempt is due.' }),
      lastAttemptAt: Timestamp().optional(),
      lastStatusCode: z.number().int().optional(),
      lastError: z.string().optional(),
      deliveredAt: Timestamp().optional(),
      redeliveries: z.number().int(),
      history: z.array(DeliveryAttempt()).openapi({ description: 'The attempts, oldest first (the newest 20).' }),
      createdAt: Timestamp(),
      updatedAt: Timestamp(),
    })
    .openapi('WebhookDelivery'),
);

export const WebhookDeliveryWithEvent = /* @__PURE__ */ once(() => WebhookDelivery().extend({ event: CardflowEvent() }).openapi('WebhookDeliveryWithEvent'));

export const ListDeliveriesQuery = /* @__PURE__ */ once(() => Pagination().extend({ status: DeliveryStatus().optional() }));

export type CreateWebhookInput = z.infer<ReturnType<typeof CreateWebhook>>;
export type UpdateWebhookInput = z.infer<ReturnType<typeof UpdateWebhook>>;

// ——— API tokens ———
// (An import may stand anywhere at module level; this one serves only this section.)
import { ROLES } from '../../domain/kernel/auth';

export const Role = /* @__PURE__ */ once(() => z.enum(ROLES).openapi('Role'));

export const CreateApiToken = /* @__PURE__ */ once(() =>
  z
    .strictObject({
      name: z.string().trim().min(1, 'must not be empty').max(100).openapi({ description: 'What the token is for, e.g. "ERP nightly sync".' }),
      role: Role(),
      expiresAt: z.iso
        .datetime({ offset: true })
        .optional()
        .openapi({ description: 'When the token stops working (must be in the future). Without it the token works until revoked.' }),
    })
    .openapi('CreateApiToken'),
);

export const ApiToken = /* @__PURE__ */ once(() =>
  z
    .object({
      id: Id('token'),
      name: z.string(),
      role: Role(),
      hint: z.string().openapi({ description: 'The first characters of the secret, to tell tokens apart. The secret itself is shown only on creation.' }),
      expiresAt: Timestamp().optional(),
      lastUsedAt: Timestamp().optional().openapi({ description: 'The last request made with the token, to the minute (written at most once a minute).' }),
      createdBy: z.string(),
      createdAt: Timestamp(),
    })
    .openapi('ApiToken'),
);

export const ApiTokenWithSecret = /* @__PURE__ */ once(() =>
  ApiToken()
    .extend({
      secret: z.string().openapi({
        description:
          'The token (`cft_` + base64url of 32 random bytes), to send as `Authorization: Bearer <secret>`. Shown this once: only its SHA-256 is stored.',
      }),
    })
    .openapi('ApiTokenWithSecret'),
);

export type CreateApiTokenInput = z.infer<ReturnType<typeof CreateApiToken>>;
