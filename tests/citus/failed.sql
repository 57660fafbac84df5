-- Included after a statement under test that failed (psql's ERROR is true): a check whose
-- statement must work prints `not ok` with the error. psql variables: label.
SELECT 'not ok - ' || :'label' || ': ERROR ' || :'LAST_ERROR_SQLSTATE' || ' ' || :'LAST_ERROR_MESSAGE';
