-- Customers of one load, ordered by customer number.
--
-- Scope: the customers referenced by the load's invoices, contracts and credit notes (see
-- invoices.sql, subscriptions.sql and credit_notes.sql), every customer updated since the watermark, the customers still pending
-- from earlier runs, and the parent customers of all of these, recursively (UNION stops on a
-- cycle in the hierarchy).
-- The parents are found in two steps: those of the scoped customers by one join, then the
-- parents of those parents, recursively. PostgreSQL sizes a recursion's working table at ten
-- times its first step: started from the few parents' parents, the walk goes by the primary
-- key (started from the scoped customers, the intraday sync's walk scanned every customer at
-- each level).
-- ref_parent_cust_no resolves the parent customer in the ERP (null when not found);
-- ref_parent_parent_cust_no is that parent's own parent (null when the parent is a root).
-- Order: root customers first, then the others, each by customer number. The validation
-- decides a child of a root at once (its parent was read before), holding only deeper levels.
--
-- Parameters: month_start, month_end, watermark, pending_ids (customer numbers),
-- pending_subscription_ids (contract numbers), pending_invoice_ids (invoice numbers),
-- pending_credit_note_ids (credit note numbers).
WITH RECURSIVE
scoped_credit_notes AS (
  SELECT cn.invoice_no, cn.cust_no
  FROM credit_notes AS cn
  WHERE (cn.issue_date >= :month_start AND cn.issue_date < :month_end)
     OR cn.updated_at > :watermark
     OR cn.credit_note_no IN :pending_credit_note_ids
),
scoped_invoices AS (
  SELECT i.cust_no, i.contract_no
  FROM invoices AS i
  WHERE (i.invoice_date >= :month_start AND i.invoice_date < :month_end)
     OR i.updated_at > :watermark
     OR i.invoice_no IN :pending_invoice_ids
  UNION
  SELECT ci.cust_no, ci.contract_no
  FROM invoices AS ci
  JOIN scoped_credit_notes AS credited ON credited.invoice_no = ci.invoice_no
),
scoped_customers (cust_no) AS (
  SELECT si.cust_no FROM scoped_invoices AS si
  UNION
  SELECT scn.cust_no FROM scoped_credit_notes AS scn
  UNION
  SELECT ct.cust_no
  FROM contracts AS ct
  JOIN scoped_invoices AS si2 ON si2.contract_no = ct.contract_no
  UNION
  SELECT ct2.cust_no
  FROM contracts AS ct2
  WHERE ct2.updated_at > :watermark
     OR ct2.contract_no IN :pending_subscription_ids
  UNION
  SELECT cu.cust_no
  FROM customers AS cu
  WHERE cu.updated_at > :watermark
     OR cu.cust_no IN :pending_ids
),
parents (cust_no) AS (
  SELECT p.parent_cust_no
  FROM customers AS p
  JOIN scoped_customers AS sc ON p.cust_no = sc.cust_no
  WHERE p.parent_cust_no IS NOT NULL
),
ancestors (cust_no) AS (
  SELECT gp.parent_cust_no
  FROM customers AS gp
  JOIN parents AS pa ON gp.cust_no = pa.cust_no
  WHERE gp.parent_cust_no IS NOT NULL
  UNION
  SELECT pp.parent_cust_no
  FROM customers AS pp
  JOIN ancestors AS a ON pp.cust_no = a.cust_no
  WHERE pp.parent_cust_no IS NOT NULL
),
scope (cust_no) AS (
  SELECT sc2.cust_no FROM scoped_customers AS sc2
  UNION
  SELECT pa2.cust_no FROM parents AS pa2
  UNION
  SELECT a2.cust_no FROM ancestors AS a2
)
SELECT
  c.cust_no,
  c.company_name,
  c.email,
  c.country_code,
  c.postal_code,
  c.parent_cust_no,
  c.updated_at,
  par.cust_no AS ref_parent_cust_no,
  par.parent_cust_no AS ref_parent_parent_cust_no
FROM customers AS c
JOIN scope AS s ON s.cust_no = c.cust_no
LEFT JOIN customers AS par ON par.cust_no = c.parent_cust_no
-- The window keeps rows of one customer number together even if the ERP holds duplicates.
ORDER BY
  MAX(CASE WHEN c.parent_cust_no IS NULL THEN 0 ELSE 1 END) OVER (PARTITION BY c.cust_no),
  c.cust_no
