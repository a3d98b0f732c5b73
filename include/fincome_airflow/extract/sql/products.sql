-- Products of one load, ordered by product code.
--
-- Scope: the products of the load's plans (_scoped_plans.sql), every product updated
-- since the watermark, and the products still pending from earlier runs.
--
-- Parameters: watermark, pending_ids (product codes), and those of _scoped_plans.sql.
WITH
-- @include scoped_plans
,
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
