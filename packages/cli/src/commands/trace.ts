import { Command } from 'commander';
import { CONNECTION_OPTIONS, type ConnectionOptions, cliKafka, withPool } from '../connections';
import { CliError, printJson } from '../output';
import { eventTrail } from '../trace/event-trail';
import { traceOrder } from '../trace/order-trace';
import { renderEventTrail, renderOrderTrace } from '../trace/render';

interface TraceOptions extends ConnectionOptions {
  json?: boolean;
}

const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i;

function withCommon(command: Command): Command {
  command.option('--json', 'print the trace as JSON');
  for (const [flags, help] of CONNECTION_OPTIONS) command.option(flags, help);
  return command;
}

export function traceCommand(): Command {
  const order = withCommon(
    new Command('order')
      .argument('<id>', "the order's id")
      .description(
        "One order's journey: its changes (topic, partition, offset, LSN, commit time), each service's outcomes, the stock reservation, the invoice, the email's SES message id, the reorder tasks it caused, each step's time from the commit",
      ),
  ).action(async (id: string, options: TraceOptions) => {
    if (!UUID.test(id)) throw new CliError(`an order id is a UUID, such as 0b5e…-…; got ${JSON.stringify(id)}`);
    await withPool(options, async (pool) => {
      const trace = await traceOrder(pool, cliKafka(options), id);
      if (!trace) throw new CliError(`no order ${id} in this database (is --database-url the pipeline's?)`);
      if (options.json) printJson(trace);
      else process.stdout.write(renderOrderTrace(trace));
    });
  });
  const event = withCommon(
    new Command('event')
      .argument('<event-id>', 'the event id, as in `pipeline dlq list` or the event-id header')
      .description("One event's journey: where it is in Kafka, its commit, each consumer group's outcomes and dead letters"),
  ).action(async (eventId: string, options: TraceOptions) => {
    await withPool(options, async (pool) => {
      const trail = await eventTrail(pool, cliKafka(options), eventId);
      if (!trail)
        throw new CliError(`no consumer recorded an outcome of event ${eventId} (yet): check the id, or \`pipeline status\` for lag`);
      if (options.json) printJson(trail);
      else process.stdout.write(`${renderEventTrail(trail).join('\n')}\n`);
    });
  });
  return new Command('trace').description('Follow an order or an event through the pipeline').addCommand(order).addCommand(event);
}
