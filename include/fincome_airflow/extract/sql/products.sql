-- Products of one load, ordered by product code.
--
-- Scope: the products of the load's plans (the scope of plans.sql), every product updated
-- since the watermark, and the products still pending from earlier runs.
--
-- Parameters: month_start, month_end, watermark, pending_ids (product codes),
-- pending_plan_ids (plan codes), pending_subscription_ids (contract numbers),
-- pending_invoice_ids (invoice numbers), pending_credit_note_ids (credit note numbers).
WITH scoped_contracts AS (
  SELECT c0.contract_no
  FROM contracts AS c0
  WHERE c0.updated_at > :watermark
     OR c0.contract_no IN :pending_subscription_ids
  UNION
  SELECT i.contract_no
  FROM invoices AS i
  WHERE (i.invoice_date >= :month_start AND i.invoice_date < :month_end)
     OR i.updated_at > :watermark
     OR i.invoice_no IN :pending_invoice_ids
  UNION
  SELECT ci.contract_no
  FROM invoices AS ci
  JOIN (
    SELECT cn.invoice_no
    FROM credit_notes AS cn
    WHERE (cn.issue_date >= :month_start AND cn.issue_date < :month_end)
       OR cn.updated_at > :watermark
       OR cn.credit_note_no IN :pending_credit_note_ids
  ) AS credited ON credited.invoice_no = ci.invoice_no
),
scoped_plans AS (
  SELECT ct.plan_code
  FROM contracts AS ct
  JOIN scoped_contracts AS sc ON sc.contract_no = ct.contract_no
  UNION
  SELECT p0.plan_code
  FROM plans AS p0
  WHERE p0.updated_at > :watermark
     OR p0.plan_code IN :pending_plan_ids
),
scope AS (
  SELECT pl.product_code
  FROM plans AS pl
  JOIN scoped_plans AS sp ON sp.plan_code = pl.plan_code
  UNION
  SELECT pr0.product_code
  FROM products AS pr0
  WHERE pr0.updated_at > :watermark
     OR pr0.product_code IN :pending_ids
)
SELECT
  pr.product_code,
  pr.product_name,
  pr.updated_at
FROM products AS pr
JOIN scope AS s ON s.product_code = pr.product_code
ORDER BY pr.product_code
