-- Pricing plans of one load, ordered by plan code.
--
-- Scope: the load's plans (_scoped_plans.sql).
-- ref_product_code resolves the plan's product in the ERP (null when not found).
--
-- Parameters: those of _scoped_plans.sql.
WITH
-- @include scoped_plans
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
JOIN scoped_plans AS s ON s.plan_code = p.plan_code
LEFT JOIN products AS pr ON pr.product_code = p.product_code
ORDER BY p.plan_code
