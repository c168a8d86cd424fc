package engine

import (
	"encoding/json"
	"io"
	"net/http"
	"net/http/httptest"
	goruntime "runtime"
	"strings"
	"testing"
)

func TestPing(t *testing.T) {
	srv := httptest.NewServer((&Engine{}).routes())
	defer srv.Close()
	tests := []struct {
		method, path string
		wantBody     string
	}{
		{"GET", "/_ping", "OK"},
		{"GET", "/v1.41/_ping", "OK"},
		{"GET", "/v1.24/_ping", "OK"},
		{"GET", "/v1.47/_ping", "OK"},
		{"HEAD", "/_ping", ""},
		{"HEAD", "/v1.41/_ping", ""},
	}
	for _, tt := range tests {
		t.Run(tt.method+" "+tt.path, func(t *testing.T) {
			req, err := http.NewRequest(tt.method, srv.URL+tt.path, nil)
			if err != nil {
				t.Fatal(err)
			}
			resp, err := http.DefaultClient.Do(req)
			if err != nil {
				t.Fatal(err)
			}
			defer resp.Body.Close()
			body, _ := io.ReadAll(resp.Body)
			if resp.StatusCode != http.StatusOK {
				t.Fatalf("status = %d, want 200 (body %q)", resp.StatusCode, body)
			}
			if string(body) != tt.wantBody {
				t.Errorf("body = %q, want %q", body, tt.wantBody)
			}
			for h, want := range map[string]string{
				"Api-Version":         "1.41",
				"Ostype":              "linux",
				"Server":              "skiff/" + Version,
				"Docker-Experimental": "false",
				"Cache-Control":       "no-cache, no-store, must-revalidate",
				"Pragma":              "no-cache",
			} {
				if got := resp.Header.Get(h); got != want {
					t.Errorf("%s = %q, want %q", h, got, want)
				}
			}
			if tt.method == "HEAD" && resp.Header.Get("Content-Length") != "0" {
				t.Errorf("HEAD Content-Length = %q, want 0", resp.Header.Get("Content-Length"))
			}
		})
	}
}

func TestVersion(t *testing.T) {
	srv := httptest.NewServer((&Engine{}).routes())
	defer srv.Close()
	for _, path := range []string{"/version", "/v1.41/version"} {
		t.Run(path, func(t *testing.T) {
			resp, err := http.Get(srv.URL + path)
			if err != nil {
				t.Fatal(err)
			}
			defer resp.Body.Close()
			if resp.StatusCode != http.StatusOK {
				t.Fatalf("status = %d, want 200", resp.StatusCode)
			}
			if ct := resp.Header.Get("Content-Type"); ct != "application/json" {
				t.Errorf("Content-Type = %q", ct)
			}
			var v struct {
				Version, MinAPIVersion, Os, Arch, GoVersion string
				APIVersion                                  string `json:"ApiVersion"`
				Platform                                    struct{ Name string }
				Components                                  []struct {
					Name, Version string
					Details       map[string]string
				}
			}
			if err := json.NewDecoder(resp.Body).Decode(&v); err != nil {
				t.Fatal(err)
			}
			if v.Version != Version || v.APIVersion != "1.41" || v.MinAPIVersion != "1.24" ||
				v.Os != "linux" || v.Arch != goruntime.GOARCH || v.GoVersion != goruntime.Version() {
				t.Errorf("version = %+v", v)
			}
			if v.Platform.Name != "skiff" {
				t.Errorf("Platform.Name = %q, want skiff", v.Platform.Name)
			}
			if len(v.Components) != 1 || v.Components[0].Name != "Engine" || v.Components[0].Version != Version ||
				v.Components[0].Details["ApiVersion"] != "1.41" {
				t.Errorf("Components = %+v", v.Components)
			}
		})
	}
}

func TestRoutesUnknown(t *testing.T) {
	srv := httptest.NewServer((&Engine{}).routes())
	defer srv.Close()
	tests := []struct {
		method, path string
		want         int
	}{
		{"GET", "/nope", http.StatusNotFound},
		{"GET", "/v1.41/nope", http.StatusNotFound},
		// The version prefix needs a path after it.
		{"GET", "/v1.41", http.StatusNotFound},
		// Not a version prefix: not stripped.
		{"GET", "/vX/_ping", http.StatusNotFound},
		{"GET", "/1.41/_ping", http.StatusNotFound},
		// An unknown method is Docker's 404 too, not a 405.
		{"POST", "/_ping", http.StatusNotFound},
		{"PATCH", "/v1.41/containers/json", http.StatusNotFound},
		{"BREW", "/containers/x/kill", http.StatusNotFound},
		{"PUT", "/images/busybox/json", http.StatusNotFound},
		{"PUT", "/networks/x", http.StatusNotFound},
		{"POST", "/networks/x/bogus", http.StatusNotFound},
	}
	for _, tt := range tests {
		req, _ := http.NewRequest(tt.method, srv.URL+tt.path, nil)
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		body, _ := io.ReadAll(resp.Body)
		resp.Body.Close()
		if resp.StatusCode != tt.want {
			t.Errorf("%s %s: status = %d, want %d", tt.method, tt.path, resp.StatusCode, tt.want)
		}
		// Docker's body: {"message":"page not found"}.
		var msg struct{ Message string }
		if err := json.Unmarshal(body, &msg); err != nil || msg.Message != "page not found" ||
			resp.Header.Get("Content-Type") != "application/json" {
			t.Errorf("%s %s: body %q (%s), want Docker's JSON message", tt.method, tt.path, body, resp.Header.Get("Content-Type"))
		}
		if resp.Header.Get("Api-Version") != "1.41" {
			t.Errorf("%s %s: Api-Version = %q, want 1.41 on every answer", tt.method, tt.path, resp.Header.Get("Api-Version"))
		}
	}
}

func TestVersionPrefixStripped(t *testing.T) {
	// The handlers see the path without /vX.Y.
	h := (&Engine{}).routes()
	rec := httptest.NewRecorder()
	req := httptest.NewRequest("GET", "/v1.41/_ping", nil)
	h.ServeHTTP(rec, req)
	if seen := req.URL.Path; seen != "/_ping" {
		t.Errorf("path after routing = %q, want /_ping", seen)
	}
	if rec.Body.String() != "OK" {
		t.Errorf("body = %q, want OK", rec.Body.String())
	}
}

// TestEscapedPathKept: stripping the version prefix keeps what the client
// escaped, so that %2F in a name is not taken for a separator.
func TestEscapedPathKept(t *testing.T) {
	h := (&Engine{}).routes()
	for path, want := range map[string]string{
		"/v1.41/nope/x%2Fy": "/nope/x%2Fy",
		"/v1.41/nope/a%20b": "/nope/a%20b",
		"/v1.41/nope/plain": "/nope/plain",
	} {
		req := httptest.NewRequest("GET", path, nil)
		h.ServeHTTP(httptest.NewRecorder(), req)
		if got := req.URL.EscapedPath(); got != want {
			t.Errorf("%s: escaped path %q, want %q", path, got, want)
		}
	}
}

// TestBodyCap: a JSON body over 1 MiB is refused with 413 and Docker's
// JSON message, before the engine holds it.
func TestBodyCap(t *testing.T) {
	h := (&Engine{}).routes()
	big := `{"Image":"busybox","Env":["A=` + strings.Repeat("x", 2<<20) + `"]}`
	req := httptest.NewRequest("POST", "/v1.41/containers/create", strings.NewReader(big))
	req.Header.Set("Content-Type", "application/json")
	rec := httptest.NewRecorder()
	h.ServeHTTP(rec, req)
	var msg struct{ Message string }
	if rec.Code != http.StatusRequestEntityTooLarge || json.Unmarshal(rec.Body.Bytes(), &msg) != nil ||
		!strings.Contains(msg.Message, "request body too large") {
		t.Errorf("status %d, body %q; want 413 with a JSON message", rec.Code, rec.Body.String())
	}
}
