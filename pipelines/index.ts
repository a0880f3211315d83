import type { Config } from '../lib/config.js';
import { ConfigInvalid } from '../lib/errors.js';
import { definitionProblem, pipelineDefinitionSchema, type PipelineDefinition, type PipelineDefinitionInput } from './definition.js';
import { leadScoringDefinition } from './lead-scoring.js';
import { productRecsDefinition } from './product-recs.js';

export { LEAD_SCORING } from './lead-scoring.js';
export { PRODUCT_RECS, RECS_CRM_PROPERTIES, SHOP_TABLES } from './product-recs.js';
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

/**
 * Each pipeline keeps its own CRM sync state, but a contact property holds one value: two pipelines may
 * not write the same property, or each run would overwrite the other's.
 */
function checkCrmSinks(defs: PipelineDefinition[]): void {
  const owner = new Map<string, string>();
  for (const d of defs) {
    for (const name of Object.values(d.crm?.properties ?? {}).flat()) {
      const other = owner.get(name);
      if (other) throw new ConfigInvalid(`pipeline "${d.id}": crm.properties names the contact property "${name}", which pipeline "${other}" writes; give each pipeline its own properties`);
      owner.set(name, d.id);
    }
  }
}
