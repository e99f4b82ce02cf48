-- First start of the PostgreSQL container (empty data volume) only:
-- one role and one database per user of the server, each role owning its own.
--   educonnect : the platform's accounts and records (API, workers)
--   temporal   : Temporal persistence (temporal) and SQL visibility (temporal_visibility)
-- Passwords come from the container's environment (psql 15+ \getenv), never from this file.

\set ON_ERROR_STOP on
\getenv educonnect_password EDUCONNECT_DB_PASSWORD
\getenv temporal_password TEMPORAL_DB_PASSWORD

CREATE ROLE educonnect LOGIN PASSWORD :'educonnect_password';
CREATE DATABASE educonnect OWNER educonnect ENCODING 'UTF8' TEMPLATE template0;
REVOKE ALL ON DATABASE educonnect FROM PUBLIC;

CREATE ROLE temporal LOGIN PASSWORD :'temporal_password';
CREATE DATABASE temporal OWNER temporal ENCODING 'UTF8' TEMPLATE template0;
CREATE DATABASE temporal_visibility OWNER temporal ENCODING 'UTF8' TEMPLATE template0;
REVOKE ALL ON DATABASE temporal FROM PUBLIC;
REVOKE ALL ON DATABASE temporal_visibility FROM PUBLIC;
