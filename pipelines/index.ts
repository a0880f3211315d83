import type { Config } from '../lib/config.js';
import { ConfigInvalid } from '../lib/errors.js';
import { CONTACT_PROPERTIES } from '../activities/crm/contact-properties.js';
import { definitionProblem, pipelineDefinitionSchema, type PipelineDefinition, type PipelineDefinitionInput } from './definition.js';
import { leadScoringDefinition } from './lead-scoring.js';
import { productRecsDefinition } from './product-recs.js';

export { LEAD_SCORING } from './lead-scoring.js';
export { PRODUCT_RECS, SHOP_TABLES } from './product-recs.js';
export type { CalendarSpec, PipelineDefinition, PipelineDefinitionInput } from './definition.js';

/** The pipelines one process runs, validated once at start; activities and commands look definitions up by id. */
export interface PipelineRegistry {
  /** Every pipeline, lead scoring first. */
  all(): readonly PipelineDefinition[];
  ids(): string[];
  /** The definition of `id`; an unknown id is ConfigInvalid listing the known ones. */
  get(id: string): PipelineDefinition;
}

/**
 * The registry of this process: lead scoring and the product recommender (from configuration) plus
 * `extra` definitions (a test's). A bad definition is ConfigInvalid naming the pipeline and the field.
 */
export function makePipelineRegistry(config: Config, extra: readonly PipelineDefinitionInput[] = []): PipelineRegistry {
  const byId = new Map<string, PipelineDefinition>();
  for (const input of [...builtInDefinitions(config), ...extra]) {
    const def = validateDefinition(input);
    if (byId.has(def.id)) throw new ConfigInvalid(`pipeline "${def.id}" is defined twice; give each definition its own id`);
    byId.set(def.id, def);
  }
  checkCrmSinks([...byId.values()]);
  const all = [...byId.values()];
  return {
    all: () => all,
    ids: () => [...byId.keys()],
    get(id) {
      const def = byId.get(id);
      if (!def) throw new ConfigInvalid(`unknown pipeline "${id}": the pipelines are ${[...byId.keys()].join(', ')}`);
      return def;
    },
  };
}

/** The pipelines scoreflow ships: add a new pipeline's definition here. */
function builtInDefinitions(config: Config): PipelineDefinitionInput[] {
  return [leadScoringDefinition(config), productRecsDefinition(config)];
}

/** Parses one definition, or throws ConfigInvalid `pipeline "<id>": <field> <problem>`. */
export function validateDefinition(input: PipelineDefinitionInput): PipelineDefinition {
  const problem = definitionProblem(input);
  const name = typeof input.id === 'string' && input.id ? input.id : '(no id)';
  if (problem) throw new ConfigInvalid(`pipeline "${name}": ${problem.field} ${problem.message}; fix its definition in pipelines/`);
  return pipelineDefinitionSchema.parse(input);
}

/** The contact property the CRM stage writes for each output (activities/crm/contact-properties.ts). */
const CRM_STAGE_PROPERTIES = { score: 'lead_score', bucket: 'lead_score_bucket', modelVersion: 'lead_score_model_version', scoredAt: 'lead_score_scored_at' } as const;

/**
 * The CRM stage keeps one sync state per contact and writes scoreflow's four lead-score properties: until
 * it keeps them per pipeline, one pipeline may have a CRM sink, and it maps its outputs to those properties.
 */
function checkCrmSinks(defs: PipelineDefinition[]): void {
  const withCrm = defs.filter((d) => d.crm);
  if (withCrm.length > 1) {
    throw new ConfigInvalid(`pipeline "${withCrm[1]!.id}": crm is also set on "${withCrm[0]!.id}", and the CRM stage keeps one sync state per contact; leave crm out of one of them`);
  }
  for (const d of withCrm) {
    for (const [field, expected] of Object.entries(CRM_STAGE_PROPERTIES)) {
      const name = d.crm!.properties[field as keyof typeof CRM_STAGE_PROPERTIES];
      if (name !== expected) {
        throw new ConfigInvalid(`pipeline "${d.id}": crm.properties.${field} is "${name}", but the CRM stage writes that output to ${expected} (of ${CONTACT_PROPERTIES.map((p) => p.name).join(', ')}); use that name`);
      }
    }
  }
}
