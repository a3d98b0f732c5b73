-- The reference ERP (../shared/erp-reference-schema.md). Runs unchanged on PostgreSQL (schema
-- "erp") and on SQLite (a database file attached as "erp"); ddl.py adapts it for MySQL/MariaDB.
-- No foreign keys: the ERP does not enforce them (contracts.plan_code refers to plans,
-- credit_notes.invoice_no to invoices). Credit notes hold POSITIVE amounts.
CREATE TABLE IF NOT EXISTS erp.customers (
  cust_no        varchar(32) primary key,
  company_name   varchar(200) not null,
  email          varchar(320),
  country_code   varchar(2),
  postal_code    varchar(20),
  parent_cust_no varchar(32),
  updated_at     timestamp not null
);
CREATE TABLE IF NOT EXISTS erp.contracts (
  contract_no    varchar(32) primary key,
  cust_no        varchar(32) not null,
  plan_code      varchar(64) not null,
  status         varchar(16) not null,
  start_date     date not null,
  end_date       date,
  terminated_on  date,
  currency       varchar(3) not null,
  monthly_fee    numeric(14,2),
  updated_at     timestamp not null
);
CREATE TABLE IF NOT EXISTS erp.invoices (
  invoice_no     varchar(32) primary key,
  cust_no        varchar(32) not null,
  contract_no    varchar(32),
  invoice_date   date not null,
  due_date       date,
  doc_status     varchar(16) not null,
  currency       varchar(3) not null,
  total_net      numeric(14,2) not null,
  total_tax      numeric(14,2) not null default 0,
  updated_at     timestamp not null
);
CREATE TABLE IF NOT EXISTS erp.invoice_lines (
  invoice_no     varchar(32) not null,
  line_no        integer not null,
  description    text,
  line_kind      varchar(16) not null,
  service_from   date,
  service_to     date,
  quantity       numeric(12,3) not null default 1,
  net_amount     numeric(14,2) not null,
  primary key (invoice_no, line_no)
);
CREATE TABLE IF NOT EXISTS erp.products (
  product_code   varchar(32) primary key,
  product_name   varchar(200) not null,
  updated_at     timestamp not null
);
CREATE TABLE IF NOT EXISTS erp.plans (
  plan_code      varchar(64) primary key,
  plan_name      varchar(200) not null,
  product_code   varchar(32) not null,
  billing_period varchar(8) not null,
  list_price     numeric(14,2),
  currency       varchar(3) not null,
  updated_at     timestamp not null
);
CREATE TABLE IF NOT EXISTS erp.credit_notes (
  credit_note_no varchar(32) primary key,
  invoice_no     varchar(32) not null,
  cust_no        varchar(32) not null,
  issue_date     date not null,
  doc_status     varchar(16) not null,
  currency       varchar(3) not null,
  total_net      numeric(14,2) not null,
  total_tax      numeric(14,2) not null default 0,
  reason         text,
  updated_at     timestamp not null
);
CREATE TABLE IF NOT EXISTS erp.credit_note_lines (
  credit_note_no  varchar(32) not null,
  line_no         integer not null,
  invoice_line_no integer,
  description     text,
  service_from    date,
  service_to      date,
  net_amount      numeric(14,2) not null,
  primary key (credit_note_no, line_no)
);
-- The loads' scopes: the month's invoices by date, and the rows changed since the watermark
-- (updated_at > :watermark; the intraday sync reads these alone, the month's range empty).
CREATE INDEX IF NOT EXISTS invoices_invoice_date ON erp.invoices (invoice_date);
CREATE INDEX IF NOT EXISTS invoices_updated_at ON erp.invoices (updated_at);
CREATE INDEX IF NOT EXISTS contracts_updated_at ON erp.contracts (updated_at);
CREATE INDEX IF NOT EXISTS customers_updated_at ON erp.customers (updated_at);
