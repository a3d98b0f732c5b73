-- The reference ERP on MySQL/MariaDB: schema.sql's tables in the connection's own database
-- (MySQL has no schema inside a database), named unqualified. DATETIME(6) keeps microseconds
-- without TIMESTAMP's automatic updates and 2038 limit; the binary collation compares and
-- orders identifiers as PostgreSQL does (case and accents matter). No foreign keys.
CREATE TABLE IF NOT EXISTS customers (
  cust_no        varchar(32) primary key,
  company_name   varchar(200) not null,
  email          varchar(320),
  country_code   varchar(2),
  postal_code    varchar(20),
  parent_cust_no varchar(32),
  updated_at     datetime(6) not null
) DEFAULT CHARSET=utf8mb4 COLLATE=utf8mb4_bin;
CREATE TABLE IF NOT EXISTS contracts (
  contract_no    varchar(32) primary key,
  cust_no        varchar(32) not null,
  plan_code      varchar(64) not null,
  status         varchar(16) not null,
  start_date     date not null,
  end_date       date,
  terminated_on  date,
  currency       varchar(3) not null,
  monthly_fee    numeric(14,2),
  updated_at     datetime(6) not null
) DEFAULT CHARSET=utf8mb4 COLLATE=utf8mb4_bin;
CREATE TABLE IF NOT EXISTS invoices (
  invoice_no     varchar(32) primary key,
  cust_no        varchar(32) not null,
  contract_no    varchar(32),
  invoice_date   date not null,
  due_date       date,
  doc_status     varchar(16) not null,
  currency       varchar(3) not null,
  total_net      numeric(14,2) not null,
  total_tax      numeric(14,2) not null default 0,
  updated_at     datetime(6) not null
) DEFAULT CHARSET=utf8mb4 COLLATE=utf8mb4_bin;
CREATE TABLE IF NOT EXISTS invoice_lines (
  invoice_no     varchar(32) not null,
  line_no        integer not null,
  description    text,
  line_kind      varchar(16) not null,
  service_from   date,
  service_to     date,
  quantity       numeric(12,3) not null default 1,
  net_amount     numeric(14,2) not null,
  primary key (invoice_no, line_no)
) DEFAULT CHARSET=utf8mb4 COLLATE=utf8mb4_bin;
