import type { PropertyValueProblem } from './errors.js';
import type { PropertyDefinition } from './standard-properties.js';

/** HubSpot's own email check is stricter; this one catches what a typo or a missing value produces. */
export function isEmail(value: string): boolean {
  return /^[^\s@]+@[^\s@]+\.[^\s@]+$/.test(value);
}

/** Property values arrive as strings per the spec; numbers and booleans are stored as their string form. */
export function stringValues(properties: Record<string, unknown>): Record<string, string> {
  return Object.fromEntries(Object.entries(properties).map(([k, v]) => [k, v === null || v === undefined ? '' : String(v)]));
}

function problemFor(name: string, value: string, def: PropertyDefinition | undefined): PropertyValueProblem | undefined {
  if (!def) return { name, error: 'PROPERTY_DOESNT_EXIST', message: `Property "${name}" does not exist` };
  if (def.modificationMetadata?.readOnlyValue) {
    return { name, error: 'READ_ONLY_VALUE', message: `${name} is a read only property; its value cannot be set.` };
  }
  if (value === '') return undefined; // an empty string clears a value
  if (def.type === 'number' && !Number.isFinite(Number(value))) {
    return { name, error: 'INVALID_INTEGER', message: `${value} is not a valid number` };
  }
  if (def.type === 'enumeration' && def.options.length > 0) {
    const allowed = new Set(def.options.map((o) => o.value));
    const chosen = def.fieldType === 'checkbox' ? value.split(';') : [value];
    if (chosen.some((v) => !allowed.has(v))) {
      return { name, error: 'INVALID_OPTION', message: `${value} was not one of the allowed options: [${[...allowed].join(', ')}]` };
    }
  }
  if (name === 'email' && !isEmail(value)) return { name, error: 'INVALID_EMAIL', message: `Email address ${value} is invalid` };
  return undefined;
}

/** Every problem in a batch's property values against the object's definitions, HubSpot's whole-batch check. */
export function checkPropertyValues(
  inputs: Array<Record<string, string>>,
  definitions: Map<string, PropertyDefinition>,
): PropertyValueProblem[] {
  const problems = new Map<string, PropertyValueProblem>();
  for (const properties of inputs) {
    for (const [name, value] of Object.entries(properties)) {
      const problem = problemFor(name, value, definitions.get(name));
      if (problem && !problems.has(`${problem.error}:${name}`)) problems.set(`${problem.error}:${name}`, problem);
    }
  }
  return [...problems.values()];
}
