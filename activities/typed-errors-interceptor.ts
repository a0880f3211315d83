import type { ActivityInboundCallsInterceptor, ActivityExecuteInput, Next } from '@temporalio/worker';
import { classifyError } from '../lib/errors.js';

/** Applies classifyError to every activity's failure, so no stage has to remember to. */
export class TypedErrorsInterceptor implements ActivityInboundCallsInterceptor {
  async execute(input: ActivityExecuteInput, next: Next<ActivityInboundCallsInterceptor, 'execute'>): Promise<unknown> {
    try {
      return await next(input);
    } catch (err) {
      throw classifyError(err);
    }
  }
}
