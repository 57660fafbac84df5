# Sourced by tests/stress/run.sh (uses its cluster, P, fail and DIR): the pictures and the report
# page in a real browser. Every plot kind of every model kind, and segment_report of each model,
# opened by headless Chromium (Debian's chromium, installed here like rsvg-convert): the page
# loads with no console message and no failed request, its DOM holds every segment's name (the
# report) or the picture's title and description (the plots), and its screenshot is not blank
# (png_check.py).
log "browser: segment_plot and segment_report in headless Chromium"
if ! command -v chromium >/dev/null; then
    if is_root; then
        DEBIAN_FRONTEND=noninteractive apt-get install -y -qq chromium >/dev/null 2>&1 ||
            { apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq chromium >/dev/null; }
    else
        fail "chromium is missing: sudo apt-get install -y chromium"
    fi
fi
BROWSER_DIR="$DIR/browser"
mkdir -p "$BROWSER_DIR"
chmod 777 "$BROWSER_DIR"
cp "$REPO/tests/data/wholesale_customers/wholesale_customers.csv" "$REPO/tests/data/bank_marketing/bank.csv" "$BROWSER_DIR/"
chmod 644 "$BROWSER_DIR"/*.csv

# The bundled customers, and a model of every kind on them.
P -c "CREATE TABLE wholesale (id serial PRIMARY KEY, channel int, region int, fresh numeric, milk numeric,
          grocery numeric, frozen numeric, detergents_paper numeric, delicassen numeric)" \
  -c "\\copy wholesale (channel, region, fresh, milk, grocery, frozen, detergents_paper, delicassen) FROM '$BROWSER_DIR/wholesale_customers.csv' CSV HEADER" \
  -c "CREATE VIEW wholesale_spend AS SELECT id, region, CASE channel WHEN 1 THEN 'Horeca' ELSE 'Retail' END AS channel,
          fresh, milk, grocery, frozen, detergents_paper, delicassen,
          fresh + milk + grocery + frozen + detergents_paper + delicassen AS revenue FROM wholesale" >/dev/null
P -c "CREATE TABLE bank (age int, job text, marital text, education text, \"default\" text, balance int,
          housing text, loan text, contact text, day int, month text, duration int, campaign int,
          pdays int, previous int, poutcome text, y text)" \
  -c "\\copy bank FROM '$BROWSER_DIR/bank.csv' CSV HEADER" >/dev/null
SPEND="ARRAY['fresh', 'milk', 'grocery', 'frozen', 'detergents_paper', 'delicassen']"
LOG='"log": ["fresh", "milk", "grocery", "frozen", "detergents_paper", "delicassen"]'
P -c "SELECT 1 FROM segment_fit('wholesale_spend', $SPEND, 4, 'b_kmeans', '{$LOG, \"seed\": 1}')" \
  -c "SELECT 1 FROM segment_fit('wholesale_spend', $SPEND, NULL, 'b_scanned', '{$LOG, \"seed\": 1, \"k_max\": 6}')" \
  -c "SELECT 1 FROM segment_fit('wholesale_spend', $SPEND, 3, 'b_gmm', '{$LOG, \"seed\": 1, \"method\": \"gmm\"}')" \
  -c "SELECT 1 FROM segment_fit('wholesale_spend', $SPEND, 4, 'b_ward', '{$LOG, \"method\": \"hierarchical\"}')" \
  -c "SELECT 1 FROM segment_fit('wholesale_spend', $SPEND, NULL, 'b_dbscan', '{$LOG, \"method\": \"dbscan\", \"eps\": 1.2, \"min_points\": 5}')" \
  -c "SELECT 1 FROM segment_fit('wholesale_spend', $SPEND, 4, 'b_minibatch', '{$LOG, \"seed\": 1, \"method\": \"minibatch_kmeans\"}')" \
  -c "SELECT 1 FROM segment_fit('wholesale_spend', ARRAY['channel', 'fresh', 'milk', 'grocery'], 3, 'b_kprototypes', '{\"seed\": 1, \"method\": \"kprototypes\"}')" \
  -c "SELECT 1 FROM segment_fit('wholesale_spend', $SPEND, 2, 'b_regions', '{$LOG, \"seed\": 1, \"group_by\": \"region\"}')" \
  -c "SELECT 1 FROM segment_churn_fit('bank', ARRAY['age', 'balance', 'duration', 'campaign', 'contact', 'poutcome', 'housing'], 'y', 'b_churn', '{\"max_depth\": 4}')" \
  -c "SELECT 1 FROM segment_classify_fit('bank', ARRAY['age', 'balance', 'duration', 'campaign', 'contact', 'poutcome'], 'marital', 'b_tree', '{\"max_depth\": 4}')" \
  -c "SELECT 1 FROM segment_classify_fit('bank', ARRAY['age', 'balance', 'duration', 'campaign', 'contact', 'poutcome'], 'marital', 'b_forest', '{\"method\": \"forest\", \"n_trees\": 20}')" >/dev/null

# One headless Chromium visit: the DOM it rendered, the messages it logged, a screenshot.
visit() { # FILE NAME WIDTH,HEIGHT
    local file=$1 name=$2 window=$3
    as_pg timeout 120 chromium --headless=new --no-sandbox --disable-gpu --hide-scrollbars \
        --no-first-run --disable-background-networking --disable-extensions \
        --user-data-dir="$BROWSER_DIR/profile" --enable-logging=stderr --v=0 \
        --dump-dom "file://$file" >"$BROWSER_DIR/$name.dom" 2>"$BROWSER_DIR/$name.log" ||
        fail "chromium could not open $name"
    as_pg timeout 120 chromium --headless=new --no-sandbox --disable-gpu --hide-scrollbars \
        --no-first-run --disable-background-networking --disable-extensions \
        --user-data-dir="$BROWSER_DIR/profile" --window-size="$window" \
        --screenshot="$BROWSER_DIR/$name.png" "file://$file" >/dev/null 2>>"$BROWSER_DIR/$name.log" ||
        fail "chromium could not take a screenshot of $name"
    # A console message (an error in the page) or a request that failed (something fetched).
    if grep -E "CONSOLE|net::ERR_|Failed to load" "$BROWSER_DIR/$name.log"; then
        fail "$name: the browser logged the messages above"
    fi
    python3 "$REPO/tests/stress/png_check.py" "$BROWSER_DIR/$name.png" >/dev/null ||
        fail "$name: the screenshot is blank or broken"
}

checked=0
for model in b_kmeans b_scanned b_gmm b_ward b_dbscan b_minibatch b_kprototypes b_regions/1 b_churn b_tree b_forest; do
    kinds="scatter profile"
    case $model in
        b_scanned) kinds="$kinds elbow" ;;
        b_churn | b_tree) kinds="$kinds tree" ;;  # a forest has no one tree (42809)
    esac
    safe=${model//\//_}
    # The segments' names, as the DOM should hold them (one a line).
    P -c "SELECT label FROM segment_labels('$model') ORDER BY segment" >"$BROWSER_DIR/$safe.labels"
    for kind in $kinds; do
        P -c "SELECT segment_plot('$model', '$kind')" >"$BROWSER_DIR/$safe.$kind.svg"
        # A picture is at most 1280 x 720: a window of that size (more white would read as blank).
        visit "$BROWSER_DIR/$safe.$kind.svg" "$safe.$kind" 1280,720
        python3 "$REPO/tests/stress/dom_check.py" svg "$BROWSER_DIR/$safe.$kind.dom" ||
            fail "$model $kind: the rendered picture has no title or description"
        checked=$((checked + 1))
    done
    # The report: on the training rows with a measure where the model's source has one, else plain.
    case $model in
        b_churn | b_tree | b_forest) report="SELECT segment_report('$model', 'bank', ARRAY['balance'])" ;;
        b_regions/1) report="SELECT segment_report('$model')" ;;
        *) report="SELECT segment_report('$model', 'wholesale_spend', ARRAY['revenue'])" ;;
    esac
    P -c "$report" >"$BROWSER_DIR/$safe.html"
    visit "$BROWSER_DIR/$safe.html" "$safe.report" 1100,1400
    python3 "$REPO/tests/stress/dom_check.py" report "$BROWSER_DIR/$safe.report.dom" "$BROWSER_DIR/$safe.labels" ||
        fail "$model: a segment's name is missing from the rendered report"
    checked=$((checked + 1))
done
echo "browser: $checked pages (every plot kind of 11 models, and their reports) rendered in Chromium with no console message, every name in the DOM, no blank screenshot"
