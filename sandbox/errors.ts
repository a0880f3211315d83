import { randomUUID } from 'node:crypto';

/** What a sandbox handler answers: a status, a JSON body (none for 204) and extra headers. */
export interface Reply {
  status: number;
  body?: unknown;
  headers?: Record<string, string>;
}

/** HubSpot's `Error` schema (contacts-v3.json, properties-v3.json) plus the `status: 'error'` HubSpot always sends. */
export interface HubSpotErrorBody {
  status: 'error';
  message: string;
  correlationId: string;
  category: string;
  subCategory?: string;
  errors?: Array<{ message: string; code?: string; in?: string; subCategory?: string; context?: Record<string, string[]> }>;
  context?: Record<string, string[]>;
  links?: Record<string, string>;
}

/** A HubSpot error reply: `{ status: 'error', message, correlationId, category, ... }`. */
export function errorReply(status: number, category: string, message: string, extra: Partial<HubSpotErrorBody> = {}): Reply {
  const body: HubSpotErrorBody = { status: 'error', message, correlationId: randomUUID(), category, ...extra };
  return { status, body };
}

/** One entry of a property-values rejection, serialised into the message the way HubSpot does. */
export interface PropertyValueProblem {
  name: string;
  error: 'PROPERTY_DOESNT_EXIST' | 'READ_ONLY_VALUE' | 'INVALID_EMAIL' | 'INVALID_INTEGER' | 'INVALID_OPTION';
  message: string;
}

/** HubSpot's 400 for bad property values: the whole batch is refused, details JSON-encoded in the message. */
export function propertyValuesReply(problems: PropertyValueProblem[]): Reply {
  const detail = problems.map((p) => ({
    isValid: false, message: p.message, error: p.error, name: p.name, localizedErrorMessage: p.message,
  }));
  return errorReply(400, 'VALIDATION_ERROR', `Property values were not valid: ${JSON.stringify(detail)}`, {
    errors: problems.map((p) => ({ message: p.message, code: p.error, context: { propertyName: [p.name] } })),
  });
}

/** A 400 VALIDATION_ERROR with a plain message (batch too large, duplicate ids, malformed body). */
export function validationReply(message: string, errors?: HubSpotErrorBody['errors']): Reply {
  return errorReply(400, 'VALIDATION_ERROR', message, errors ? { errors } : {});
}

/** An entry of a 207 response's `errors[]`: the spec's `StandardError`, all required fields present. */
export function standardError(category: string, message: string, context: Record<string, string[]>): Record<string, unknown> {
  return { status: 'error', category, message, context, errors: [], links: {} };
}
