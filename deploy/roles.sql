-- The roles of a civicfacts deployment, made once on the primary (the replica copies them).
-- deploy/cluster runs this with psql, setting the three passwords as :'reader_password', ...
--   civicfacts_loader  owns the database and its tables: migrates and loads.
--   civicfacts_reader  what the app servers use: SELECT on what the loader makes, nothing else.
--   civicfacts_replica streams the WAL to the replica.
CREATE ROLE civicfacts_loader LOGIN PASSWORD :'loader_password';
CREATE ROLE civicfacts_reader LOGIN PASSWORD :'reader_password' CONNECTION LIMIT 80;
CREATE ROLE civicfacts_replica LOGIN REPLICATION PASSWORD :'replica_password';
-- The app sets both itself; on the role too, for a connection through PgBouncer, which drops
-- the startup options the app passes them in (docs/DEPLOY.md, "Connections").
ALTER ROLE civicfacts_reader SET default_transaction_read_only = on;
ALTER ROLE civicfacts_reader SET statement_timeout = '5s';
CREATE DATABASE civicfacts OWNER civicfacts_loader ENCODING 'UTF8' TEMPLATE template0;
\connect civicfacts
REVOKE ALL ON DATABASE civicfacts FROM PUBLIC;
GRANT CONNECT ON DATABASE civicfacts TO civicfacts_reader;
GRANT USAGE ON SCHEMA public TO civicfacts_reader;
-- Every table the loader makes (the migrations, and any made again by a load) is readable.
ALTER DEFAULT PRIVILEGES FOR ROLE civicfacts_loader IN SCHEMA public GRANT SELECT ON TABLES TO civicfacts_reader;
