package eval

import (
	"bytes"
	"encoding/json"
	"fmt"
	"html/template"
	"io"
	"slices"
	"strconv"
	"text/tabwriter"
	"time"
)

// WriteText writes the report as a table, one method a row.
func (r *Report) WriteText(w io.Writer) error {
	d := r.Data
	fmt.Fprintf(w, "%d items, %d ratings by %d users; temporal split (last %d%% of each user's ratings), %d users evaluated on %d positives\n\n",
		d.Items, d.Ratings, d.Users, TestPercent, d.Evaluated, d.Positives)
	// Numbers align right; names are padded to one width to align left.
	width := len("method")
	for _, res := range r.Results {
		width = max(width, len(res.Method))
	}
	tw := tabwriter.NewWriter(w, 0, 0, 2, ' ', tabwriter.AlignRight)
	fmt.Fprintf(tw, "%-*s\tNDCG@%d\tRecall@%d\tcoverage\tdiversity\tnovelty\tvs exact\ttime\t\n", width, "method", r.K, r.K)
	for _, res := range r.Results {
		m := res.Metrics
		agree := "-"
		if res.Exact != "" {
			agree = fmt.Sprintf("%.3f", res.Agreement)
		}
		fmt.Fprintf(tw, "%-*s\t%.4f\t%.4f\t%.4f\t%.4f\t%.2f\t%s\t%s\t\n",
			width, res.Method, m.NDCG, m.Recall, m.Coverage, m.Diversity, m.Novelty, agree, res.Elapsed.Round(10*time.Millisecond))
	}
	if err := tw.Flush(); err != nil {
		return err
	}
	if !slices.ContainsFunc(r.Results, func(res Result) bool { return res.Exact != "" }) {
		return nil
	}
	_, err := fmt.Fprintf(w, "\n%s and %s rank through the served path (vector index, candidate search, rerank); "+
		"the _exact rows score the whole catalog exactly; \"vs exact\" is the share of the served top %d that the exact top %d holds.\n",
		MethodContent, MethodHybrid, r.K, r.K)
	return err
}

// MarshalJSON encodes the report as {"k":10,"methods":{"popularity":
// {"ndcg_at_10":…,"recall_at_10":…,"coverage":…,"diversity":…,"novelty":…},
// …}}, methods in the order they ran; a served method whose exact
// counterpart ran also has "agreement_at_10" with it.
func (r *Report) MarshalJSON() ([]byte, error) {
	var b bytes.Buffer
	fmt.Fprintf(&b, `{"k":%d,"methods":{`, r.K)
	k := strconv.Itoa(r.K)
	for i, res := range r.Results {
		if i > 0 {
			b.WriteByte(',')
		}
		name, err := json.Marshal(res.Method)
		if err != nil {
			return nil, err
		}
		b.Write(name)
		b.WriteByte(':')
		m := res.Metrics
		fields := []struct {
			key string
			val float64
		}{
			{"ndcg_at_" + k, m.NDCG}, {"recall_at_" + k, m.Recall},
			{"coverage", m.Coverage}, {"diversity", m.Diversity}, {"novelty", m.Novelty},
		}
		if res.Exact != "" {
			fields = append(fields, struct {
				key string
				val float64
			}{"agreement_at_" + k, res.Agreement})
		}
		b.WriteByte('{')
		for j, f := range fields {
			if j > 0 {
				b.WriteByte(',')
			}
			val, err := json.Marshal(f.val)
			if err != nil {
				return nil, fmt.Errorf("%s %s: %w", res.Method, f.key, err)
			}
			fmt.Fprintf(&b, "%q:%s", f.key, val)
		}
		b.WriteByte('}')
	}
	b.WriteString("}}")
	return b.Bytes(), nil
}

// Chart geometry of the HTML report, in SVG user units.
const (
	chartHeight = 240 // of the plot area
	chartTop    = 36  // room for the legend
	barWidth    = 28
	groupGap    = 36
	chartLeft   = 48
	ndcgFill    = "#3b6ea8"
	recallFill  = "#e0904a"
)

type chartBar struct {
	X, Y, H float64
	Class   string
	Fill    string
	Label   string
}

type chartGroup struct {
	X    float64 // centre
	Name string
}

type htmlData struct {
	R                    *Report
	Width, Height, Base  float64
	Bars                 []chartBar
	Groups               []chartGroup
	Ticks                []chartBar // Y and Label only
	NDCGLabel, RecallLbl string
	NDCGFill, RecallFill string
	Percent              int
	Positive             float64
}

// WriteHTML writes a self-contained page: the table and an SVG bar chart
// of NDCG and Recall per method.
func (r *Report) WriteHTML(w io.Writer) error {
	top := 0.0
	for _, res := range r.Results {
		top = max(top, res.Metrics.NDCG, res.Metrics.Recall)
	}
	if top == 0 {
		top = 1
	}
	d := htmlData{R: r, Base: chartTop + chartHeight, NDCGFill: ndcgFill, RecallFill: recallFill,
		Percent: TestPercent, Positive: PositiveRating,
		NDCGLabel: fmt.Sprintf("NDCG@%d", r.K), RecallLbl: fmt.Sprintf("Recall@%d", r.K)}
	scale := func(v float64) float64 { return v / top * chartHeight }
	for i, res := range r.Results {
		x := chartLeft + groupGap/2 + float64(i)*(2*barWidth+groupGap)
		for j, v := range []float64{res.Metrics.NDCG, res.Metrics.Recall} {
			d.Bars = append(d.Bars, chartBar{X: x + float64(j)*barWidth, Y: d.Base - scale(v), H: scale(v),
				Class: []string{"ndcg", "recall"}[j], Fill: []string{ndcgFill, recallFill}[j], Label: fmt.Sprintf("%.3f", v)})
		}
		d.Groups = append(d.Groups, chartGroup{X: x + barWidth, Name: res.Method})
	}
	for i := range 5 {
		v := top * float64(i) / 4
		d.Ticks = append(d.Ticks, chartBar{Y: d.Base - scale(v), Label: fmt.Sprintf("%.3f", v)})
	}
	d.Width = chartLeft + float64(len(r.Results))*(2*barWidth+groupGap) + groupGap
	d.Height = d.Base + 24
	return htmlReport.Execute(w, d)
}

var htmlReport = template.Must(template.New("report").Parse(`<!DOCTYPE html>
<html lang="en">
<head>
<meta charset="utf-8">
<title>mediarec offline evaluation</title>
<style>
body { font-family: system-ui, sans-serif; margin: 2rem; color: #222; }
table { border-collapse: collapse; margin: 1rem 0; }
th, td { padding: .3rem .8rem; border-bottom: 1px solid #ddd; text-align: right; }
th:first-child, td:first-child { text-align: left; }
svg text { font-size: 11px; }
</style>
</head>
<body>
<h1>Offline evaluation</h1>
<p>{{.R.Data.Items}} items, {{.R.Data.Ratings}} ratings by {{.R.Data.Users}} users.
Temporal split: the latest {{.Percent}}% of each user's ratings are held out; held-out ratings of {{.Positive}} or more are the positives.
{{.R.Data.Evaluated}} users evaluated on {{.R.Data.Positives}} positives, ranking the whole catalog but their train items; k = {{.R.K}}.</p>
<table>
<tr><th>method</th><th>{{.NDCGLabel}}</th><th>{{.RecallLbl}}</th><th>coverage</th><th>diversity</th><th>novelty</th><th>time</th></tr>
{{range .R.Results}}<tr><td>{{.Method}}</td><td>{{printf "%.4f" .Metrics.NDCG}}</td><td>{{printf "%.4f" .Metrics.Recall}}</td><td>{{printf "%.4f" .Metrics.Coverage}}</td><td>{{printf "%.4f" .Metrics.Diversity}}</td><td>{{printf "%.2f" .Metrics.Novelty}}</td><td>{{.Elapsed.Round 10000000}}</td></tr>
{{end}}</table>
<svg xmlns="http://www.w3.org/2000/svg" width="{{.Width}}" height="{{.Height}}" role="img" aria-label="{{.NDCGLabel}} and {{.RecallLbl}} per method">
<rect width="100%" height="100%" fill="#fff"/>
{{range .Ticks}}<line x1="44" x2="{{$.Width}}" y1="{{printf "%.1f" .Y}}" y2="{{printf "%.1f" .Y}}" stroke="#ddd"/><text x="40" y="{{printf "%.1f" .Y}}" text-anchor="end" dy="4">{{.Label}}</text>
{{end}}{{range .Bars}}<rect class="{{.Class}}" fill="{{.Fill}}" x="{{.X}}" y="{{printf "%.1f" .Y}}" width="26" height="{{printf "%.1f" .H}}"><title>{{.Label}}</title></rect><text x="{{.X}}" y="{{printf "%.1f" .Y}}" dx="13" dy="-3" text-anchor="middle">{{.Label}}</text>
{{end}}{{range .Groups}}<text x="{{.X}}" y="{{$.Base}}" dy="16" text-anchor="middle">{{.Name}}</text>
{{end}}<rect fill="{{.NDCGFill}}" x="50" y="4" width="10" height="10"/><text x="64" y="13">{{.NDCGLabel}}</text>
<rect fill="{{.RecallFill}}" x="140" y="4" width="10" height="10"/><text x="154" y="13">{{.RecallLbl}}</text>
</svg>
<p>Coverage: share of the catalog recommended to anyone. Diversity: mean pairwise 1 − Jaccard similarity of the genres within a list. Novelty: mean −log2 of an item's share of the train interactions.</p>
</body>
</html>
`))
