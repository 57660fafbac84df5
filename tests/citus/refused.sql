-- Included after a statement under test that failed (psql's ERROR is true), where a refusal is
-- an acceptable answer: ok when the ERROR has a SQLSTATE of its own (not XX000, an internal
-- error) and not 42601 (a syntax error: the check's own SQL is wrong), with the message, so the
-- tier's output records what a distributed table gets.
-- (A crash never gets here: psql loses the connection and the tier reports the file.)
-- psql variables: label.
SELECT CASE WHEN :'LAST_ERROR_SQLSTATE' NOT IN ('XX000', '42601') THEN 'ok' ELSE 'not ok' END
       || ' - ' || :'label' || ': refused, ERROR ' || :'LAST_ERROR_SQLSTATE' || ' ' || :'LAST_ERROR_MESSAGE';
