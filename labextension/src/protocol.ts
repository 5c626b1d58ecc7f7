/**
 * The kernel → notebook protocol, typed.
 *
 * The constants live in `paper_widgets/protocol.json`, which the Python side
 * reads too, so the comm target name and version are defined exactly once.
 * `protocolSpec.ts` is generated from it (`scripts/protocol-types.mjs`) so the
 * literal types below follow the JSON: rename an action there and this fails to compile.
 */
import { spec } from './protocolSpec';

export const COMM_TARGET: string = spec.target;
export const PROTOCOL_VERSION: number = spec.version;
export const METADATA_KEY: string = spec.metadata_key;
/** The `role` of the one References cell a notebook has. */
export const REFERENCES_ROLE: string = spec.references_role;
/** Tag on the References cell: Jupyter Book 1 and mystmd leave such cells out (they print their own bibliography). */
export const REMOVE_TAG: string = spec.remove_tag;
/** The kernel code the "Update References" command runs: the Python entry point, declared once. */
export const UPDATE_REFERENCES_CODE: string = spec.update_references_code;

export type Action = (typeof spec.actions)[number];
export type CellType = (typeof spec.cell_types)[number];
export type Where = (typeof spec.where)[number];

interface IRequestBase {
  version: number;
  request_id: string;
}

/** Put `text` in a new cell below the requesting cell, or at the cursor of the markdown cell being edited. */
export interface IInsertRequest extends IRequestBase {
  action: Extract<Action, 'insert'>;
  text: string;
  cell_type: CellType;
  where: Where;
  /** Id of a cell the new cell goes right after while it exists (successive inserts keep their order). */
  after?: string;
  /** Id for the new cell, so the kernel can name it as the next insert's `after` before any answer. */
  cell_id?: string;
}

/** Replace the one cell tagged with `role` in its metadata, or append it at the end when there is none. */
export interface IUpsertRequest extends IRequestBase {
  action: Extract<Action, 'upsert'>;
  text: string;
  cell_type: CellType;
  role: string;
}

/** Send back every cell's type, source and metadata (the kernel cannot see the notebook). */
export interface IReadRequest extends IRequestBase {
  action: Extract<Action, 'read'>;
}

/** Answer only: tells the kernel early that this extension is listening. */
export interface IHelloRequest extends IRequestBase {
  action: Extract<Action, 'hello'>;
}

export type Request = IInsertRequest | IUpsertRequest | IReadRequest | IHelloRequest;

export interface ICellSummary {
  cell_type: string;
  source: string;
  metadata: Record<string, unknown>;
}

export interface IReply {
  version: number;
  request_id: string;
  ok: boolean;
  /** Why the request failed, or what was done instead; always readable by a person. */
  message: string;
  notebook?: string;
  cell_index?: number;
  /** Id of the cell an insert created (the kernel passes it back as `after`). */
  cell_id?: string;
  cells?: ICellSummary[];
}

function isRecord(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}

function oneOf<T extends string>(value: unknown, allowed: readonly string[]): value is T {
  return typeof value === 'string' && allowed.includes(value);
}

/** Validate comm data; returns the request or a sentence saying what is wrong with it. */
export function parseRequest(data: unknown): Request | string {
  if (!isRecord(data)) {
    return 'the message is not a JSON object';
  }
  if (data.version !== PROTOCOL_VERSION) {
    return (
      `the kernel speaks paper_widgets protocol version ${String(data.version)} but this ` +
      `JupyterLab extension speaks version ${PROTOCOL_VERSION}; install the same paper_widgets ` +
      'version in the kernel and in JupyterLab'
    );
  }
  if (typeof data.request_id !== 'string') {
    return 'the message has no request_id';
  }
  if (!oneOf<Action>(data.action, spec.actions)) {
    return `unknown action ${JSON.stringify(data.action)}`;
  }
  if (data.action === 'read' || data.action === 'hello') {
    return data as unknown as IReadRequest | IHelloRequest;
  }
  if (typeof data.text !== 'string') {
    return 'the message has no text to insert';
  }
  if (!oneOf<CellType>(data.cell_type, spec.cell_types)) {
    return `unknown cell type ${JSON.stringify(data.cell_type)}`;
  }
  if (data.action === 'insert' && !oneOf<Where>(data.where, spec.where)) {
    return `unknown insert position ${JSON.stringify(data.where)}`;
  }
  for (const field of ['after', 'cell_id']) {
    if (data.action === 'insert' && data[field] !== undefined && typeof data[field] !== 'string') {
      return `an insert's "${field}" must be a cell id`;
    }
  }
  if (data.action === 'upsert' && typeof data.role !== 'string') {
    return 'an upsert needs a role';
  }
  return data as unknown as Request;
}
