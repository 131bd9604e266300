{#-
    z-score of `expression` within groups: (x - group mean) / group sample standard deviation.
    Rows where x is null do not enter the mean or SD and get null; null as well when the SD is not
    computable (fewer than two values) or zero. `order_by`, a unique key, fixes the order in which
    the mean and SD add up the rows, so that the same rows give the same bits however the table
    was written (an incremental build and a full one).
-#}
{% macro z_score(expression, partition_by, order_by=none) -%}
    {%- set window -%}
        (partition by {{ partition_by }}
        {%- if order_by %} order by {{ order_by }} rows between unbounded preceding and unbounded following{% endif %})
    {%- endset -%}
    ({{ expression }} - avg({{ expression }}) over {{ window }})
        / nullif(stddev_samp({{ expression }}) over {{ window }}, 0)
{%- endmacro %}


{#-
    numerator / denominator as a percentage, rounded half away from zero to one decimal (SPEC section
    6, completeness_pct); null when the denominator is 0. For counts (never negative) half away from
    zero is half up: floor((2000 x num + den) / (2 x den)) / 10, computed from integers so that no
    binary rounding moves a value off its .x5 boundary.
-#}
{% macro percent_one_decimal(numerator, denominator) -%}
    case when {{ denominator }} > 0 then
        floor((2000.0 * {{ numerator }} + {{ denominator }}) / (2.0 * {{ denominator }})) / 10.0
    end
{%- endmacro %}

{#- numerator / denominator as a double; null when the denominator is 0. -#}
{% macro rate(numerator, denominator) -%}
    case when {{ denominator }} > 0 then cast({{ numerator }} as double) / {{ denominator }} end
{%- endmacro %}

{#- Count of rows where a boolean expression is true (three-valued: null counts as not true). -#}
{% macro count_true(condition) -%}
    sum(case when {{ condition }} then 1 else 0 end)
{%- endmacro %}

{#-
    Funnel-plot control limit around a registry rate p for a site with n observations:
    p + sign x z x sqrt(p (1 - p) / n), clipped to [0, 1] (SPEC section 6). z = 1.959964 (95 %) or
    3.090232 (99.8 %); sign = -1 lower, +1 upper. Null when n is 0 or p is null.
-#}
{% macro funnel_limit(p, n, z, sign) -%}
    case when {{ n }} > 0 and {{ p }} is not null then
        least(1.0, greatest(0.0,
            {{ p }} + ({{ sign }}) * {{ z }} * sqrt({{ p }} * (1.0 - {{ p }}) / {{ n }})))
    end
{%- endmacro %}

{#-
    Rank of `expression` within `partition_by`, tied values sharing the average of their ranks
    (1-based), as Spearman's correlation needs, centred on the mean rank (n + 1) / 2, which average
    ranks always have: the lowest rank of the tie group plus half its size minus one, minus the mean.
    Centred ranks are multiples of 1/2, so sums of their products are exact in binary floating point
    and the correlation does not depend on the order rows are summed in.
-#}
{% macro centred_average_rank(expression, partition_by) -%}
    (rank() over (partition by {{ partition_by }} order by {{ expression }})
        + (count(*) over (partition by {{ partition_by }}, {{ expression }}) - 1) / 2.0
        - (count(*) over (partition by {{ partition_by }}) + 1) / 2.0)
{%- endmacro %}

{#-
    Pearson correlation, in an aggregate, of two columns already centred on their means:
    sum(x y) / sqrt(sum(x^2) sum(y^2)). Null when either does not vary. Over centred average ranks it
    is Spearman's rho with ties (as scipy.stats.spearmanr).
-#}
{% macro correlation_of_centred(x, y) -%}
    case when sum({{ x }} * {{ x }}) > 0 and sum({{ y }} * {{ y }}) > 0 then
        sum({{ x }} * {{ y }}) / sqrt(sum({{ x }} * {{ x }}) * sum({{ y }} * {{ y }}))
    end
{%- endmacro %}

{#-
    One end of the 95 % interval of a correlation rho from n pairs: Fisher's z with the Bonett-Wright
    standard error, tanh(atanh(rho) + sign x 1.959964 x sqrt((1 + rho^2 / 2) / (n - 3))) (SPEC section
    6). atanh is spelled with ln so that every engine has it; at |rho| = 1 the interval is rho itself.
-#}
{% macro bonett_wright_limit(rho, n, sign) -%}
    case
        when {{ rho }} is null or {{ n }} <= 3 then null
        when abs({{ rho }}) >= 1 then {{ rho }}
        else tanh(0.5 * ln((1.0 + {{ rho }}) / (1.0 - {{ rho }}))
                  + ({{ sign }}) * 1.959964 * sqrt((1.0 + {{ rho }} * {{ rho }} / 2.0) / ({{ n }} - 3)))
    end
{%- endmacro %}
