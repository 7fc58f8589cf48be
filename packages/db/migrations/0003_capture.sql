-- What the cdc-reader captures, and the least privilege it needs to do so.

-- Consumers of these tables need old values (status changes, stock crossing a threshold, stage
-- transitions), and unchanged TOASTed columns can then be filled from the old tuple.
ALTER TABLE orders REPLICA IDENTITY FULL;
ALTER TABLE inventory REPLICA IDENTITY FULL;
ALTER TABLE opportunities REPLICA IDENTITY FULL;

-- Created here, by the tables' owner: CREATE PUBLICATION … FOR TABLE needs ownership.
CREATE PUBLICATION pipeline FOR TABLE customers, orders, order_items, suppliers, inventory, opportunities;

-- Roles are per cluster, migrations per database: create it once, grant in every database.
-- No password here (migrations are in git): `pipeline migrate` sets it from PIPELINE_READER_PASSWORD.
DO $$
BEGIN
  IF NOT EXISTS (SELECT FROM pg_roles WHERE rolname = 'pipeline_reader') THEN
    CREATE ROLE pipeline_reader LOGIN REPLICATION NOSUPERUSER NOCREATEDB NOCREATEROLE NOINHERIT;
  END IF;
  EXECUTE format('GRANT CONNECT ON DATABASE %I TO pipeline_reader', current_database());
END
$$;

GRANT USAGE ON SCHEMA public TO pipeline_reader;
GRANT SELECT ON customers, orders, order_items, suppliers, inventory, opportunities TO pipeline_reader;
GRANT USAGE ON SCHEMA cdc_reader TO pipeline_reader;
GRANT SELECT, INSERT, UPDATE, DELETE ON ALL TABLES IN SCHEMA cdc_reader TO pipeline_reader;
