import type { Admin, Kafka } from 'kafkajs';

/**
 * /readyz check: the cluster answers a metadata request. The admin client connects on first use
 * and reconnects after a failure, so a broker that comes back makes the service ready again.
 */
export function kafkaReadiness(kafka: Kafka): { check: () => Promise<void>; close: () => Promise<void> } {
  let admin: Admin | undefined;
  return {
    check: async () => {
      if (!admin) {
        const fresh = kafka.admin({ retry: { retries: 0 } });
        await fresh.connect();
        admin = fresh;
      }
      try {
        const cluster = await admin.describeCluster();
        if (cluster.brokers.length === 0) throw new Error('no broker in the cluster metadata');
      } catch (error) {
        await admin.disconnect().catch(() => undefined);
        admin = undefined;
        throw error;
      }
    },
    close: async () => {
      await admin?.disconnect().catch(() => undefined);
      admin = undefined;
    },
  };
}
