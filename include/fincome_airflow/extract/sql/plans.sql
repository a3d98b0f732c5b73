-- Pricing plans of one load, ordered by plan code.
--
-- Scope: the plans named by the load's contracts (the scope of subscriptions.sql), every plan
-- updated since the watermark, and the plans still pending from earlier runs.
-- ref_product_code resolves the plan's product in the ERP (null when not found).
--
-- Parameters: month_start, month_end, watermark, pending_ids (plan codes),
-- pending_subscription_ids (contract numbers), pending_invoice_ids (invoice numbers),
-- pending_credit_note_ids (credit note numbers).
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
scope AS (
  SELECT ct.plan_code
  FROM contracts AS ct
  JOIN scoped_contracts AS sc ON sc.contract_no = ct.contract_no
  UNION
  SELECT p0.plan_code
  FROM plans AS p0
  WHERE p0.updated_at > :watermark
     OR p0.plan_code IN :pending_ids
)
SELECT
  p.plan_code,
  p.plan_name,
  p.product_code,
  p.billing_period,
  p.list_price,
  p.currency,
  p.updated_at,
  pr.product_code AS ref_product_code
FROM plans AS p
JOIN scope AS s ON s.plan_code = p.plan_code
LEFT JOIN products AS pr ON pr.product_code = p.product_code
ORDER BY p.plan_code
