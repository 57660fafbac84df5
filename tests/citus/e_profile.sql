-- e. segment_profile of a model fitted on the distributed table (k-means, k 2 on log spend: one
-- optimum, see b) equals the profile of the plain table's model: every segment's size, share,
-- label, and per feature the mean, median, overall mean, difference and ANOVA F (within 1e-9).
\set features 'ARRAY[''fresh'', ''milk'', ''grocery'', ''frozen'', ''detergents_paper'', ''delicassen'']'
\set options '{"log": ["fresh", "milk", "grocery", "frozen", "detergents_paper", "delicassen"]}'
\set label 'e segment_profile of a model fitted on a distributed table'
SELECT version FROM segment_fit('wholesale', :features, 2, name => 'e_profile_plain', options => :'options') \g /dev/null
\set ON_ERROR_STOP 0
SELECT version FROM segment_fit('wholesale_dist', :features, 2, name => 'e_profile_dist', options => :'options') \g /dev/null
\if :ERROR
\else
CREATE TEMP TABLE profiles AS
SELECT p.segment, p.feature,
       p.label = d.label AND p.size = d.size AS same_segment,
       greatest(abs(p.share - d.share), abs(p.segment_mean - d.segment_mean), abs(p.segment_median - d.segment_median),
                abs(p.overall_mean - d.overall_mean), abs(p.difference_sd - d.difference_sd), abs(p.anova_f - d.anova_f)) AS gap
FROM segment_profile('e_profile_plain') p FULL JOIN segment_profile('e_profile_dist') d USING (segment, feature);
\endif
\set ON_ERROR_STOP 1
\if :ERROR
\ir refused.sql
\else
SELECT CASE WHEN bool_and(coalesce(same_segment, false)) AND max(gap) <= 1e-9 THEN 'ok' ELSE 'not ok' END
       || format(' - %s: equals the plain table''s (%s rows of segment x feature, largest difference %s)', :'label', count(*), max(gap))
FROM profiles;
\endif
