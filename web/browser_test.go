package web_test

import (
	"bufio"
	"bytes"
	"context"
	_ "embed"
	"encoding/json"
	"fmt"
	"image"
	pngenc "image/png"
	"io"
	"net/http"
	"net/http/httptest"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/chromedp/chromedp"
	"github.com/chromedp/chromedp/kb"
)

// axeSource is axe-core, the accessibility engine run on every page.
//
//go:embed testdata/axe-core/axe.min.js
var axeSource string

// screenshotDir is where the suite leaves a screenshot of every page at
// desktop and phone width, and report.txt with its figures (README: "UI
// screenshots").
const screenshotDir = "screenshots"

// stepTimeout bounds one step of the suite: a click and what it causes.
const stepTimeout = 30 * time.Second

// TestBrowser drives the demo as a new user would, in Debian's Chromium:
// sign up, onboard, like, vary, search, open an item, the library, the
// operator's page; each page is checked by axe-core and photographed at
// desktop and phone width.
func TestBrowser(t *testing.T) {
	chromium := findChromium(t)
	started := time.Now()
	demo := startDemo(t, buildMediarec(t))
	b := newBrowser(t, chromium, demo.url)
	report := newReport(t)

	// Sign up and onboard: from the first page to recommendations with
	// reasons, as the README's demo command leaves a new user.
	b.open("/")
	weight := evaluate[int](b, `(() => {
		const nav = performance.getEntriesByType("navigation")[0];
		return nav.decodedBodySize + performance.getEntriesByType("resource")
			.filter((r) => /\.(js|css)$/.test(new URL(r.name).pathname))
			.reduce((sum, r) => sum + r.decodedBodySize, 0);
	})()`)
	report.add("first page: HTML + JS + CSS, uncompressed", fmt.Sprintf("%.1f KB (at most 150 KB)", float64(weight)/1000))
	if weight > 150_000 {
		t.Errorf("the first page weighs %d bytes, want at most 150 KB", weight)
	}
	b.snap("home")
	signUp := time.Now()
	b.click(`#nav a[href="#/sign-up"]`)
	b.snap("sign-up")
	b.fill("#f-display_name", "Ada")
	b.fill("#f-email", fmt.Sprintf("ada-%d@example.com", time.Now().UnixNano()))
	// The server's problem, in words, beside the field it concerns.
	b.fill("#f-password", "short")
	b.click(`main form button[type=submit]`)
	b.waitFor(`/Password/.test(document.querySelector("main .problem").textContent) &&
		document.getElementById("f-password").getAttribute("aria-invalid") === "true"`)
	b.fill("#f-password", " horse battery")
	b.click(`main form button[type=submit]`)
	b.waitFor(`document.querySelectorAll("#tag-choices .check").length >= 3`)
	b.click(`//label[normalize-space()="Movies"]`)
	b.click(`//label[normalize-space()="Documentaries"]`)
	b.waitFor(`!document.querySelector("#tag-choices[aria-busy]") && document.querySelectorAll("#tag-choices .check").length >= 3`)
	for i := 1; i <= 3; i++ {
		b.click(fmt.Sprintf(`#tag-choices .check:nth-child(%d) label`, i))
	}
	b.snap("welcome")
	b.click(`main form button.primary`)
	b.waitFor(`[...document.querySelectorAll("#recommendations .reason")].some((r) => r.textContent.startsWith("Because you follow"))`)
	path := time.Since(signUp)
	report.add("sign up → onboarding → recommendations with reasons, in the browser", path.Round(time.Millisecond).String())
	report.add("the same, from starting the demo command", time.Since(started).Round(time.Millisecond).String())
	if time.Since(started) > time.Minute {
		t.Errorf("a new user saw recommendations %v after the demo started, want within a minute", time.Since(started))
	}
	b.snap("for-you")

	// A like leaves the list and shows in the reasons.
	liked := evaluate[string](b, `document.querySelector("#recommendations li.card").dataset.item`)
	likedTitle := evaluate[string](b, `document.querySelector("#recommendations li.card h3").textContent`)
	b.click(`#recommendations li.card:first-child button.like`)
	b.waitFor(fmt.Sprintf(`!document.querySelector("#recommendations[aria-busy]") &&
		!document.querySelector('#recommendations li.card[data-item="%s"]') &&
		[...document.querySelectorAll("#recommendations .reason")].some((r) => r.textContent.includes(%q))`, liked, likedTitle))

	// The variety slider, moved by keyboard, changes the list.
	const listed = `[...document.querySelectorAll("#recommendations li.card")].map((li) => li.dataset.item).join(",")`
	b.focusKeys("#variety", kb.Home)
	b.waitFor(`document.getElementById("variety-value").textContent === "focused" && !document.querySelector("#recommendations[aria-busy]")`)
	focused := b.settled(listed)
	genres := `new Set([...document.querySelectorAll("#recommendations .genres")].flatMap((g) => g.textContent.split(", "))).size`
	focusedGenres := evaluate[int](b, genres)
	b.focusKeys("#variety", kb.End)
	b.waitFor(fmt.Sprintf(`document.getElementById("variety-value").textContent === "varied" &&
		!document.querySelector("#recommendations[aria-busy]") && %s !== %q`, listed, focused))
	report.add("genres among the recommendations, variety focused → varied", fmt.Sprintf("%d → %d", focusedGenres, evaluate[int](b, genres)))

	// Search in plain words, with the parsed type as a removable filter,
	// once the whole catalog is searchable.
	waitEmbedded(t, demo.url)
	report.add("the demo catalog embedded by the fitted model, from starting the demo", time.Since(started).Round(time.Millisecond).String())
	b.focusKeys("#ask-q", "a podcast about history"+kb.Enter)
	b.waitFor(`document.querySelectorAll("#results li.card").length > 0`)
	if types := evaluate[[]string](b, `[...document.querySelectorAll("#results .meta")].map((m) => m.textContent.split(" · ")[0])`); !allEqual(types, "Podcast") {
		t.Errorf("search for a podcast about history: types %v, want podcasts only", types)
	}
	b.snap("search")
	b.click(`//button[contains(@aria-label, "Podcasts: remove this filter")]`)
	b.waitFor(`document.querySelector(".removed") && [...document.querySelectorAll("#results .meta")].some((m) => !m.textContent.startsWith("Podcast"))`)

	// An item's page and its similar items, in its type and the others.
	b.click(`#results li.card:first-child h3 a`)
	b.waitFor(`document.querySelector(".item") && document.querySelectorAll("section .cards li.card").length >= 2`)
	b.snap("item")
	// Rated on its page, it shows among the ratings of the library.
	evaluate[any](b, `(() => { const s = document.querySelector(".yours select"); s.value = "4.5"; s.dispatchEvent(new Event("change")); })()`)
	b.waitFor(`/You rated .* 4.5 ★/.test(document.getElementById("toasts").textContent)`)

	// The library holds the like, with undo and put back.
	b.open("/#/library")
	b.waitFor(fmt.Sprintf(`[...document.querySelectorAll(".row a")].some((a) => a.textContent === %q) &&
		document.getElementById("lib-rating").textContent === "Rated (1)"`, likedTitle))
	b.click(`.row button`)
	b.waitFor(`document.querySelector(".row.undone")`)
	b.snap("library")
	b.click(`.row.undone button`)
	b.waitFor(`!document.querySelector(".row.undone")`)

	// Covers: the image where it loads, the placeholder where it does not.
	covers := coverServer(t)
	admin := apiToken(t, demo.url, "POST", "/v1/auth/login", map[string]string{"email": "demo@mediarec.local", "password": "demo-password"})
	for _, c := range []struct{ path, loaded string }{
		{"/cover.png", `i.complete && i.naturalWidth === 40`},
		{"/missing.png", `false`},
	} {
		id := createItem(t, demo.url, admin, covers.URL+c.path)
		b.open(fmt.Sprintf("/#/item/%d", id))
		b.waitFor(fmt.Sprintf(`(() => {
			const i = document.querySelector(".item-cover img.cover");
			return i ? %s : document.querySelector(".item-cover .placeholder") !== null;
		})()`, c.loaded))
	}

	// The operator's page, for the demo's administrator only.
	b.open("/#/operator")
	b.waitFor(`document.querySelector("h1").textContent === "Operators only"`)
	b.click(`//button[normalize-space()="Sign out"]`)
	b.click(`#nav a[href="#/sign-in"]`)
	b.fill("#f-email", "demo@mediarec.local")
	b.fill("#f-password", "demo-password")
	b.click(`main form button[type=submit]`)
	b.waitFor(`document.querySelector('#nav a[href="#/operator"]')`)
	b.click(`#nav a[href="#/operator"]`)
	b.waitFor(`document.getElementById("embedded") && /[\d,]+ of [\d,]+ items embedded/.test(document.body.textContent) &&
		document.querySelectorAll("table.by-type tbody tr").length === 4`)
	b.click(`//button[normalize-space()="Re-embed the catalog"]`)
	b.waitFor(`/Fitting a new model|Embedding with/.test(document.getElementById("reembed").textContent)`)
	b.snap("operator")
	b.checkConsole()
}

// coverServer serves a 40×60 cover at /cover.png and nothing else.
func coverServer(t *testing.T) *httptest.Server {
	t.Helper()
	img := image.NewRGBA(image.Rect(0, 0, 40, 60))
	for i := range img.Pix {
		img.Pix[i] = 0x80
	}
	var png bytes.Buffer
	if err := pngenc.Encode(&png, img); err != nil {
		t.Fatal(err)
	}
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.URL.Path != "/cover.png" {
			http.NotFound(w, r)
			return
		}
		w.Header().Set("Content-Type", "image/png")
		w.Write(png.Bytes())
	}))
	t.Cleanup(srv.Close)
	return srv
}

// createItem adds a book with a cover to the catalog and returns its id.
func createItem(t *testing.T, base, token, cover string) int64 {
	t.Helper()
	body, _ := json.Marshal(map[string]any{"type": "book", "title": "A Book With a Cover " + cover, "image_url": cover})
	req, _ := http.NewRequest("POST", base+"/v1/items", bytes.NewReader(body))
	req.Header.Set("Content-Type", "application/json")
	req.Header.Set("Authorization", "Bearer "+token)
	res, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer res.Body.Close()
	var item struct{ ID int64 }
	if err := json.NewDecoder(res.Body).Decode(&item); err != nil || res.StatusCode != http.StatusCreated {
		t.Fatalf("create an item: %d %v", res.StatusCode, err)
	}
	return item.ID
}

// demoServer is a running "mediarec demo".
type demoServer struct{ url string }

// buildMediarec builds the binary a user runs, without the race detector:
// the figures are those of the real thing.
func buildMediarec(t testing.TB) string {
	t.Helper()
	bin := filepath.Join(t.TempDir(), "mediarec")
	cmd := exec.Command("go", "build", "-o", bin, "./cmd/mediarec")
	cmd.Dir = ".."
	if out, err := cmd.CombinedOutput(); err != nil {
		t.Fatalf("go build: %v\n%s", err, out)
	}
	return bin
}

var openLine = regexp.MustCompile(`Open (http://\S+)/ in your browser`)

// startDemo runs "mediarec demo" as the README says and returns once it
// prints where to open the UI.
func startDemo(t testing.TB, bin string) demoServer {
	t.Helper()
	cmd := exec.Command(bin, "demo", "--addr", "127.0.0.1:0")
	cmd.Env = append(os.Environ(), "HOME="+t.TempDir())
	stdout, err := cmd.StdoutPipe()
	if err != nil {
		t.Fatal(err)
	}
	cmd.Stderr = io.Discard
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		_ = cmd.Process.Signal(os.Interrupt)
		_ = cmd.Wait()
	})
	found := make(chan string, 1)
	go func() {
		sc := bufio.NewScanner(stdout)
		for sc.Scan() {
			if m := openLine.FindStringSubmatch(sc.Text()); m != nil {
				found <- m[1]
			}
		}
	}()
	select {
	case u := <-found:
		return demoServer{url: u}
	case <-time.After(2 * time.Minute):
		t.Fatal("mediarec demo printed no address within 2 minutes")
	}
	return demoServer{}
}

// findChromium returns Debian's Chromium; without it the suite fails in CI
// and is skipped elsewhere.
func findChromium(t *testing.T) string {
	t.Helper()
	for _, name := range []string{"chromium", "chromium-browser", "google-chrome"} {
		if p, err := exec.LookPath(name); err == nil {
			return p
		}
	}
	if os.Getenv("CI") == "true" {
		t.Fatal("no Chromium: apt-get install chromium")
	}
	t.Skip("no Chromium on this machine (apt-get install chromium)")
	return ""
}

// browser is one tab of a headless Chromium on the demo, failing the test
// on any step that does not complete or any script error of the page.
type browser struct {
	t    *testing.T
	ctx  context.Context
	base string

	mu     sync.Mutex
	errors []string
}

func newBrowser(t *testing.T, path, base string) *browser {
	t.Helper()
	alloc, cancelAlloc := chromedp.NewExecAllocator(context.Background(),
		chromedp.ExecPath(path), chromedp.Headless, chromedp.NoSandbox, chromedp.DisableGPU, chromedp.NoFirstRun,
		chromedp.UserDataDir(t.TempDir()), chromedp.WindowSize(1280, 900),
		chromedp.Flag("disable-quic", true), chromedp.Flag("disable-background-networking", true),
		chromedp.Flag("disable-component-update", true), chromedp.Flag("disable-sync", true))
	ctx, cancel := chromedp.NewContext(alloc)
	t.Cleanup(func() { cancel(); cancelAlloc() })
	b := &browser{t: t, ctx: ctx, base: base}
	if err := chromedp.Do(ctx, chromedp.EmulateViewport(1280, 900)); err != nil {
		t.Fatalf("start Chromium: %v", err)
	}
	go func() {
		for m, err := range chromedp.Console(ctx) {
			if err != nil {
				return
			}
			// Failed loads (covers offline, a refused call) are the
			// browser's log; a script's errors are exceptions and
			// console.error calls.
			if m.IsException() || (m.Type == chromedp.ConsoleError && len(m.Args) > 0) {
				b.mu.Lock()
				b.errors = append(b.errors, m.String())
				b.mu.Unlock()
			}
		}
	}()
	return b
}

func (b *browser) do(what string, steps ...chromedp.Action[chromedp.Void]) {
	b.t.Helper()
	ctx, cancel := context.WithTimeout(b.ctx, stepTimeout)
	defer cancel()
	if err := chromedp.Do(ctx, steps...); err != nil {
		b.checkConsole()
		body, _ := chromedp.Run(b.ctx, chromedp.Evaluate[string](`document.querySelector("main").innerText.slice(0, 600)`))
		b.t.Fatalf("%s: %v\npage: %s", what, err, body)
	}
}

func evaluate[T any](b *browser, js string) T {
	b.t.Helper()
	ctx, cancel := context.WithTimeout(b.ctx, stepTimeout)
	defer cancel()
	v, err := chromedp.Run(ctx, chromedp.Evaluate[T](js, chromedp.EvalAwaitPromise))
	if err != nil {
		b.t.Fatalf("evaluate %.80s: %v", js, err)
	}
	return v
}

func (b *browser) open(path string) {
	b.t.Helper()
	b.do("open "+path, chromedp.Navigate(b.base+path), chromedp.WaitVisible(chromedp.CSS("main h1")))
}

// click clicks the element an XPath (starting with /) or a CSS selector
// names, once it is visible.
func (b *browser) click(sel string) {
	b.t.Helper()
	if strings.HasPrefix(sel, "/") {
		b.do("click "+sel, chromedp.Click(chromedp.Search(sel), chromedp.NodeVisible))
		return
	}
	b.do("click "+sel, chromedp.Click(chromedp.CSS(sel), chromedp.NodeVisible))
}

func (b *browser) fill(sel, value string) {
	b.t.Helper()
	b.do("fill "+sel, chromedp.SendKeys(chromedp.CSS(sel), value, chromedp.NodeVisible))
}

// focusKeys focuses an element and types keys there, as a keyboard user.
func (b *browser) focusKeys(sel, keys string) {
	b.t.Helper()
	b.do("type into "+sel, chromedp.Focus(chromedp.CSS(sel), chromedp.NodeVisible), chromedp.KeyEvent(keys))
}

// waitFor waits until a JavaScript condition holds.
func (b *browser) waitFor(cond string) {
	b.t.Helper()
	b.do("wait for "+strings.Join(strings.Fields(cond), " "), func(ctx context.Context, t *chromedp.Target) (chromedp.Void, error) {
		_, err := chromedp.Poll[chromedp.Void](cond, chromedp.WithPollingInterval(50*time.Millisecond), chromedp.WithPollingTimeout(stepTimeout))(ctx, t)
		return chromedp.Void{}, err
	})
}

// settled returns the value of js once two readings a moment apart agree:
// a list that the recommender is still catching up on changes between them.
func (b *browser) settled(js string) string {
	b.t.Helper()
	prev := evaluate[string](b, js)
	deadline := time.Now().Add(stepTimeout)
	for time.Now().Before(deadline) {
		cur := evaluate[string](b, `new Promise((r) => setTimeout(r, 300)).then(() => `+js+`)`)
		if cur == prev {
			return cur
		}
		prev = cur
	}
	b.t.Fatalf("%s never settled", js)
	return ""
}

// viewports are the widths each page is checked at.
var viewports = []struct {
	name          string
	width, height int64
	mobile        bool
}{
	{"desktop", 1280, 900, false},
	{"phone", 390, 844, true},
}

// snap checks a page with axe-core and photographs it at each width.
func (b *browser) snap(name string) {
	b.t.Helper()
	b.waitFor(`!document.querySelector("[aria-busy]")`)
	for _, v := range viewports {
		var opts []chromedp.EmulateViewportOption
		if v.mobile {
			opts = append(opts, chromedp.EmulateMobile)
		}
		b.do("resize to "+v.name, chromedp.EmulateViewport(v.width, v.height, opts...))
		if scroll := evaluate[int](b, `document.documentElement.scrollWidth - window.innerWidth`); scroll > 0 {
			b.t.Errorf("%s at %s width: the page scrolls sideways by %d px", name, v.name, scroll)
		}
		b.axe(name + " (" + v.name + ")")
		shot, err := chromedp.Run(b.ctx, chromedp.FullScreenshot(100))
		if err != nil {
			b.t.Fatalf("screenshot %s: %v", name, err)
		}
		if err := os.WriteFile(filepath.Join(screenshotDir, name+"-"+v.name+".png"), shot, 0o644); err != nil {
			b.t.Fatal(err)
		}
	}
	b.do("resize back", chromedp.EmulateViewport(1280, 900))
	b.checkConsole()
}

type axeViolation struct {
	ID     string   `json:"id"`
	Impact string   `json:"impact"`
	Help   string   `json:"help"`
	Nodes  []string `json:"nodes"`
}

// axe fails the test on any serious or critical violation on the page.
func (b *browser) axe(page string) {
	b.t.Helper()
	if !evaluate[bool](b, `typeof axe !== "undefined"`) {
		evaluate[any](b, axeSource+";0")
	}
	found := evaluate[[]axeViolation](b, `axe.run(document, {resultTypes: ["violations"]}).then((r) => r.violations
		.filter((v) => v.impact === "serious" || v.impact === "critical")
		.map((v) => ({id: v.id, impact: v.impact, help: v.help, nodes: v.nodes.slice(0, 5).map((n) => n.target.join(" "))})))`)
	for _, v := range found {
		b.t.Errorf("%s: axe %s (%s): %s at %v", page, v.ID, v.Impact, v.Help, v.Nodes)
	}
}

func (b *browser) checkConsole() {
	b.t.Helper()
	b.mu.Lock()
	defer b.mu.Unlock()
	for _, e := range b.errors {
		b.t.Errorf("script error on the page: %s", e)
	}
	b.errors = nil
}

func allEqual(values []string, want string) bool {
	for _, v := range values {
		if v != want {
			return false
		}
	}
	return len(values) > 0
}

// report collects the suite's figures into screenshots/report.txt and the
// test log.
type report struct {
	t     *testing.T
	lines []string
}

func newReport(t *testing.T) *report {
	if err := os.MkdirAll(screenshotDir, 0o755); err != nil {
		t.Fatal(err)
	}
	r := &report{t: t}
	t.Cleanup(func() {
		body := strings.Join(r.lines, "\n") + "\n"
		if err := os.WriteFile(filepath.Join(screenshotDir, "report.txt"), []byte(body), 0o644); err != nil {
			t.Error(err)
		}
	})
	return r
}

func (r *report) add(what, figure string) {
	line := fmt.Sprintf("%-70s %s", what, figure)
	r.lines = append(r.lines, line)
	r.t.Log(line)
}
