# sharedwrite CLI image, used by docker-compose.yml.
FROM golang:1.26-bookworm AS build
WORKDIR /src
COPY go.mod go.sum ./
RUN go mod download
COPY . .
RUN CGO_ENABLED=0 go build -trimpath -o /out/sharedwrite ./cmd/sharedwrite

FROM debian:bookworm-slim
COPY --from=build /out/sharedwrite /usr/local/bin/sharedwrite
# The replicas of the compose scenario run as one group so lock files (0660,
# setgid directory) are shared; root is used here for simplicity.
ENTRYPOINT ["sharedwrite"]
CMD ["--help"]
