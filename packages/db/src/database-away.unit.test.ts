import { isDatabaseAway, whileDatabaseAway } from './database-away';

const pgError = (code: string, message = 'server said so') => Object.assign(new Error(message), { code });

describe('whether the database is away', () => {
  it('a server shutting down, starting, refusing or cut off is away; a query error is not', () => {
    for (const away of [
      pgError('57P01', 'terminating connection due to administrator command'),
      pgError('57P03', 'the database system is shutting down'),
      pgError('08006'),
      pgError('53300', 'sorry, too many clients already'),
      pgError('ECONNREFUSED', 'connect ECONNREFUSED 127.0.0.1:5432'),
      new Error('Connection terminated unexpectedly'),
      new Error('timeout exceeded when trying to connect'),
    ]) {
      expect([away.message, isDatabaseAway(away)]).toEqual([away.message, true]);
    }
    for (const present of [pgError('23505', 'duplicate key'), pgError('42P01', 'relation does not exist'), new Error('boom'), undefined]) {
      expect(isDatabaseAway(present)).toBe(false);
    }
  });

  it('a step is tried again while the database is away, and not after any other error', async () => {
    let tries = 0;
    const waits: number[] = [];
    const result = await whileDatabaseAway(
      async () => {
        tries++;
        if (tries < 3) throw pgError('57P03', 'the database system is starting up');
        return 'registered';
      },
      { maxDelayMs: 1, onWait: (_error, attempt) => waits.push(attempt) },
    );
    expect([result, tries, waits]).toEqual(['registered', 3, [1, 2]]);
    await expect(whileDatabaseAway(async () => Promise.reject(pgError('23505', 'duplicate key')), { maxDelayMs: 1 })).rejects.toThrow(
      'duplicate key',
    );
  });
});
