import { STATUS_CODES } from 'node:http';
import type { FastifyError, FastifyReply, FastifyRequest } from 'fastify';
import { K } from './schemas.js';

interface SchemaError {
  keyword: string;
  instancePath: string;
  params: Record<string, unknown>;
  message?: string;
}

/** One sentence per schema violation, naming the parameter and what it must be. */
export function describeViolation(error: SchemaError, context: string | undefined): string {
  const field = error.instancePath.replace(/^\//, '');
  if (error.keyword === 'additionalProperties') {
    return context === 'querystring'
      ? `unknown query parameter "${String(error.params['additionalProperty'])}"; the only one is k`
      : `unexpected ${context ?? 'field'} "${String(error.params['additionalProperty'])}"`;
  }
  if (context === 'params' && field === 'id') return 'id must be a customer id: a whole number of at most 18 digits, without leading zeros';
  if (context === 'querystring' && field === 'k') return `k must be a whole number from ${K.min} to ${K.max}`;
  return `${context ?? 'request'}${field ? ` ${field}` : ''} ${error.message ?? 'is invalid'}`;
}

/**
 * Fastify's error handler: schema violations become 400 with a body naming each problem; other client
 * errors keep their status and message (the rate limit's 429 among them); anything else is a logged 500.
 */
export function handleError(error: FastifyError, request: FastifyRequest, reply: FastifyReply): FastifyReply {
  if (error.validation) {
    const message = [...new Set(error.validation.map((e) => describeViolation(e as SchemaError, error.validationContext)))].join('; ');
    return reply.code(400).send({ statusCode: 400, error: 'Bad Request', message });
  }
  const status = error.statusCode && error.statusCode >= 400 ? error.statusCode : 500;
  if (status >= 500) request.log.error({ err: error.message, type: error.name }, 'request failed');
  return reply.code(status).send({ statusCode: status, error: STATUS_CODES[status] ?? 'Error', message: status >= 500 ? 'internal error; see the service log' : error.message });
}
